//! Step 3: the checks. Resolves each `#[guarded(lock)]` to a lock field and
//! reports, at the token to blame, every way it can be wrong. Checks keep
//! going after an error and make a best guess (the did-you-mean field, say),
//! so the expansion still produces the struct and the rest of the crate
//! does not drown in follow-on errors.

use crate::ast::{Field, Input};
use crate::attr;
use crate::error::Errors;
use syn::Ident;

/// What the expansion does with each field.
pub struct Plan {
    /// For field `i`: the index of the lock field that guards it, or `None`
    /// if it stays in the struct (unguarded, or a lock).
    pub guarded_by: Vec<Option<usize>>,
}

/// Checks `input` and decides where each field goes.
pub fn check(input: &Input<'_>, errors: &mut Errors) -> Plan {
    let marked: Vec<bool> = input
        .fields
        .iter()
        .map(|f| f.attrs.guard.is_some())
        .collect();
    let guarded_by = (0..input.fields.len())
        .map(|i| resolve(input, &marked, i, errors))
        .collect();

    let any_guarded = input
        .fields
        .iter()
        .any(|f| f.original.attrs.iter().any(attr::is_guarded));
    if !any_guarded {
        let name = &input.original.ident;
        errors.error_at(
            name,
            format!(
                "`#[guarded]` on `{name}`, but no field says which lock guards it: \
                 mark each protected field with the lock field's name, \
                 e.g. `#[guarded(lock)] accounts: Vec<i64>` next to `lock: Lock`, \
                 or remove `#[guarded]`"
            ),
        );
    }

    Plan { guarded_by }
}

/// The lock field guarding field `i` (`marked`: which fields have
/// `#[guarded(..)]`), reporting what is wrong with its attribute.
fn resolve(input: &Input<'_>, marked: &[bool], i: usize, errors: &mut Errors) -> Option<usize> {
    let field = &input.fields[i];
    let lock = &field.attrs.guard.as_ref()?.lock;
    let name = field.ident;
    if lock == name {
        let base = unraw(name);
        errors.error_at(
            lock,
            format!(
                "`{name}` cannot guard itself: `#[guarded(...)]` names the lock field \
                 that protects `{name}`. If `{name}` is the lock, remove this attribute; \
                 otherwise add a lock field, e.g. `{base}_lock: Lock`, and write \
                 `#[guarded({base}_lock)]`"
            ),
        );
        return None;
    }
    match input.field(lock) {
        Some(j) if marked[j] => guarded_as_lock(input, marked, i, j, errors),
        Some(j) => Some(j),
        None => unknown_lock(input, marked, i, lock, errors),
    }
}

/// Field `i` names field `j` as its lock, but `j` is itself guarded. The
/// best guess: `i` meant `j`'s lock.
fn guarded_as_lock(
    input: &Input<'_>,
    marked: &[bool],
    i: usize,
    j: usize,
    errors: &mut Errors,
) -> Option<usize> {
    let (name, lock) = (input.fields[i].ident, input.fields[j].ident);
    let its_lock = input.fields[j].attrs.guard.as_ref().map(|g| &g.lock);
    let real = its_lock
        .and_then(|l| input.field(l))
        .filter(|&k| !marked[k] && k != j);
    let advice = match real {
        Some(k) => format!(
            "to protect `{name}` with the same lock, write `#[guarded({})]`",
            input.fields[k].ident
        ),
        None => format!("name the `Lock` or `RLock` field that protects `{name}`"),
    };
    let by = its_lock.map_or_else(String::new, |l| format!(" by `{l}`"));
    errors.error_at(
        &input.fields[i].attrs.guard.as_ref()?.lock,
        format!(
            "`{lock}` is itself guarded{by}, so it is data, not a lock, \
             and cannot guard `{name}`: {advice}"
        ),
    );
    real
}

/// Field `i` names `lock`, which is no field of the struct. The best guess:
/// the did-you-mean field, if there is one.
fn unknown_lock(
    input: &Input<'_>,
    marked: &[bool],
    i: usize,
    lock: &Ident,
    errors: &mut Errors,
) -> Option<usize> {
    let name = input.fields[i].ident;
    let struct_name = &input.original.ident;
    let candidates: Vec<&Field<'_>> = input
        .fields
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != i && !marked[j])
        .map(|(_, f)| f)
        .collect();
    if let Some(best) = did_you_mean(lock, &candidates) {
        errors.error_at(
            lock,
            format!(
                "no field `{lock}` in `{struct_name}` to guard `{name}`: did you mean `{}`?",
                best.ident
            ),
        );
        return input.field(best.ident);
    }
    let locks: Vec<String> = candidates
        .iter()
        .filter(|f| looks_like_lock(&f.original.ty))
        .map(|f| format!("`#[guarded({})]`", f.ident))
        .collect();
    let message = if locks.is_empty() {
        format!(
            "no field `{lock}` in `{struct_name}`: `#[guarded({lock})]` names the \
             `Lock` or `RLock` field that guards `{name}`; add it to `{struct_name}`: \
             `{lock}: Lock`"
        )
    } else {
        format!(
            "no field `{lock}` in `{struct_name}`: name the lock field that guards \
             `{name}`, {}, or add a lock field `{lock}: Lock`",
            locks.join(" or ")
        )
    };
    errors.error_at(lock, message);
    None
}

/// The candidate closest to `lookup`, if it is close enough to be a typo
/// (rustc's rule: at most a third of the length in edits).
fn did_you_mean<'f, 'a>(lookup: &Ident, candidates: &[&'f Field<'a>]) -> Option<&'f Field<'a>> {
    let lookup = unraw(lookup);
    let max = lookup.chars().count().max(3) / 3;
    candidates
        .iter()
        .map(|field| {
            let name = unraw(field.ident);
            let distance = if name.eq_ignore_ascii_case(&lookup) {
                0
            } else {
                edit_distance(&name, &lookup)
            };
            (distance, *field)
        })
        .filter(|&(distance, _)| distance <= max)
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, field)| field)
}

/// Whether a field's written type's last path segment mentions `Lock`
/// (`Lock`, `RLock`, `warden::Lock`, `StateLock`, ...): only used to list
/// the likely locks in a message.
fn looks_like_lock(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident.to_string().contains("Lock")),
        _ => false,
    }
}

/// An identifier without its `r#`.
pub fn unraw(ident: &Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map_or(s.clone(), str::to_owned)
}

/// Edit distance between `a` and `b`, counting a swap of two adjacent
/// characters as one edit (`lokc` is one edit from `lock`).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // d[i][j]: distance between a[..i] and b[..j].
    let mut d = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::edit_distance;

    #[test]
    fn edits() {
        assert_eq!(edit_distance("lock", "lock"), 0);
        assert_eq!(edit_distance("lok", "lock"), 1);
        assert_eq!(edit_distance("lokc", "lock"), 1);
        assert_eq!(edit_distance("lcok", "lock"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("audit", "lock"), 5);
        assert_eq!(edit_distance("locks", "lock"), 1);
    }
}
