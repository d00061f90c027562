//! Step 3: the checks and the plan. Resolves each `#[guarded(lock)]` and
//! `#[condition(lock)]` to a lock field and `order = [...]` to ranks, and
//! reports, at the token to blame, every way they can be wrong. Checks keep
//! going after an error and make a best guess (the did-you-mean field, say),
//! so the expansion still produces the struct and the rest of the crate
//! does not drown in follow-on errors. The result is the [`Plan`]: each
//! lock with the fields it guards, its conditions, and its data struct's
//! name and generics, which the expansion only renders.

use crate::ast::{Field, Input};
use crate::attr::{self, Guard};
use crate::error::Errors;
use crate::generics;
use crate::names::{self, unraw};
use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::Ident;

/// Lock types `#[guarded]` knows by name: a field written `Lock` (no
/// generic arguments) is rewritten to `Lock<Data>` directly. A new warden
/// lock type is added here (see `core/src/private.rs`).
pub const KNOWN_LOCKS: &[&str] = &["Lock", "RLock", "RwLock"];

/// What the expansion does with each field.
pub struct Plan {
    /// For field `i`: the index of the lock field that guards it, or `None`
    /// if it stays in the struct (unguarded, a lock or a condition).
    pub guarded_by: Vec<Option<usize>>,
    /// For field `i`: the index of the lock field it is a condition of.
    pub condition_of: Vec<Option<usize>>,
    /// `order = [...]`: each ordered lock field, by rank.
    pub order: Vec<usize>,
    /// Each lock field, in declaration order, with what it guards.
    pub locks: Vec<LockPlan>,
}

impl Plan {
    /// Whether field `i` is a lock: named by a guarded field or a condition.
    pub fn is_lock(&self, i: usize) -> bool {
        self.guarded_by
            .iter()
            .chain(&self.condition_of)
            .any(|by| *by == Some(i))
    }

    /// The plan of the lock field `i`, if it is one.
    pub fn lock(&self, i: usize) -> Option<&LockPlan> {
        self.locks.iter().find(|l| l.field == i)
    }
}

/// One lock field, what it guards and what waits with it.
pub struct LockPlan {
    /// Index of the lock field.
    pub field: usize,
    /// Indices of the fields it guards, in declaration order.
    pub guarded: Vec<usize>,
    /// Indices of its `#[condition(..)]` fields.
    pub conditions: Vec<usize>,
    /// The generated data struct's name, `{Struct}{Field}`.
    pub data: Ident,
    /// The data struct has exactly the struct's generic parameters; these
    /// are the ones its fields do not name (type parameters, and lifetimes
    /// as `&'a ()`), for its `PhantomData` marker.
    pub unused: Vec<TokenStream>,
}

/// Which attribute names a lock.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Guarded,
    Condition,
}

/// Checks `input` and decides where each field goes.
pub fn check(input: &Input<'_>, errors: &mut Errors) -> Plan {
    let marked: Vec<bool> = input
        .fields
        .iter()
        .map(|f| f.attrs.guard.is_some() || f.attrs.condition.is_some())
        .collect();
    let guarded_by = (0..input.fields.len())
        .map(|i| resolve(input, &marked, i, Kind::Guarded, errors))
        .collect();
    let condition_of = (0..input.fields.len())
        .map(|i| resolve(input, &marked, i, Kind::Condition, errors))
        .collect();
    let mut plan = Plan {
        guarded_by,
        condition_of,
        order: Vec::new(),
        locks: Vec::new(),
    };

    let any_marked = input.fields.iter().any(|f| {
        f.original
            .attrs
            .iter()
            .any(|a| attr::is_guarded(a) || attr::is_condition(a))
    });
    if !any_marked {
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
    check_conditions(input, &plan, errors);
    check_cfgs(input, &plan, errors);
    plan.order = order(input, &plan, errors);
    plan.locks = lock_plans(input, &plan);
    plan
}

/// One [`LockPlan`] per lock field of `input`.
fn lock_plans(input: &Input<'_>, plan: &Plan) -> Vec<LockPlan> {
    let item = input.original;
    let ident = &item.ident;
    let (_, ty_generics, _) = item.generics.split_for_impl();
    let self_ty = quote!(#ident #ty_generics);
    let dependents = |j, of: &[Option<usize>]| -> Vec<usize> {
        (0..input.fields.len())
            .filter(|&i| of[i] == Some(j))
            .collect()
    };
    (0..input.fields.len())
        .filter(|&j| plan.is_lock(j))
        .map(|j| {
            let guarded = dependents(j, &plan.guarded_by);
            let types: Vec<TokenStream> = guarded
                .iter()
                .map(|&i| {
                    let ty = input.fields[i].original.ty.to_token_stream();
                    generics::replace_self(ty, &self_ty)
                })
                .collect();
            LockPlan {
                field: j,
                conditions: dependents(j, &plan.condition_of),
                data: names::data_struct(ident, input.fields[j].ident),
                unused: generics::unused(&item.generics, &types),
                guarded,
            }
        })
        .collect()
}

/// The lock field named by field `i`'s `#[guarded(..)]` (or, for
/// `Kind::Condition`, its `#[condition(..)]`), reporting what is wrong
/// with the attribute (`marked`: which fields have either attribute).
fn resolve(
    input: &Input<'_>,
    marked: &[bool],
    i: usize,
    kind: Kind,
    errors: &mut Errors,
) -> Option<usize> {
    let field = &input.fields[i];
    let guard = match kind {
        Kind::Guarded => field.attrs.guard.as_ref()?,
        Kind::Condition => field.attrs.condition.as_ref()?,
    };
    let lock = &guard.lock;
    let name = field.ident;
    if lock == name {
        let base = unraw(name);
        let message = match kind {
            Kind::Guarded => format!(
                "`{name}` cannot guard itself: `#[guarded(...)]` names the lock field \
                 that protects `{name}`. If `{name}` is the lock, remove this attribute; \
                 otherwise add a lock field, e.g. `{base}_lock: Lock`, and write \
                 `#[guarded({base}_lock)]`"
            ),
            Kind::Condition => format!(
                "`{name}` cannot be its own lock: `#[condition(...)]` names the `Lock` \
                 field whose guard `{name}` waits with, e.g. `#[condition(lock)]`"
            ),
        };
        errors.error_at(lock, message);
        return None;
    }
    match input.field(lock) {
        Some(j) if input.fields[j].attrs.condition.is_some() => {
            not_a_lock_condition(input, i, j, guard, kind, errors)
        }
        Some(j) if marked[j] => guarded_as_lock(input, marked, i, j, guard, errors),
        Some(j) => Some(j),
        None => unknown_lock(input, marked, i, lock, kind, errors),
    }
}

/// Field `i` names field `j`, a `#[condition(..)]` field, as its lock. The
/// best guess: `j`'s own lock.
fn not_a_lock_condition(
    input: &Input<'_>,
    i: usize,
    j: usize,
    guard: &Guard,
    kind: Kind,
    errors: &mut Errors,
) -> Option<usize> {
    let (name, cond) = (input.fields[i].ident, input.fields[j].ident);
    let its_lock = input.fields[j].attrs.condition.as_ref().map(|g| &g.lock);
    let real = its_lock
        .and_then(|l| input.field(l))
        .filter(|&k| k != i && k != j);
    let attribute = match kind {
        Kind::Guarded => "guarded",
        Kind::Condition => "condition",
    };
    let advice = real.map_or_else(
        || "name a `Lock` field".to_owned(),
        |k| {
            format!(
                "to use the lock `{cond}` waits with, write `#[{attribute}({})]`",
                input.fields[k].ident
            )
        },
    );
    errors.error_at(
        &guard.lock,
        format!(
            "`{cond}` is a condition (`#[condition(..)]`), not a lock, \
             so it cannot be named by `{name}`: {advice}"
        ),
    );
    real
}

/// Field `i` names field `j` as its lock, but `j` is itself guarded. The
/// best guess: `i` meant `j`'s lock.
fn guarded_as_lock(
    input: &Input<'_>,
    marked: &[bool],
    i: usize,
    j: usize,
    guard: &Guard,
    errors: &mut Errors,
) -> Option<usize> {
    let (name, lock) = (input.fields[i].ident, input.fields[j].ident);
    let its_lock = input.fields[j].attrs.guard.as_ref().map(|g| &g.lock);
    let real = its_lock
        .and_then(|l| input.field(l))
        .filter(|&k| !marked[k] && k != j);
    let attribute = if input.fields[i].attrs.condition.is_some() {
        "condition"
    } else {
        "guarded"
    };
    let advice = match real {
        Some(k) => format!(
            "to {} `{name}` with the same lock, write `#[{attribute}({})]`",
            if attribute == "guarded" {
                "protect"
            } else {
                "bind"
            },
            input.fields[k].ident
        ),
        None => format!("name the `Lock`, `RLock` or `RwLock` field that protects `{name}`"),
    };
    let by = its_lock.map_or_else(String::new, |l| format!(" by `{l}`"));
    let role = if attribute == "guarded" {
        "cannot guard"
    } else {
        "cannot be the lock of"
    };
    errors.error_at(
        &guard.lock,
        format!(
            "`{lock}` is itself guarded{by}, so it is data, not a lock, \
             and {role} `{name}`: {advice}"
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
    kind: Kind,
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
    let (attribute, role, named) = match kind {
        Kind::Guarded => ("guarded", "to guard", format!("that guards `{name}`")),
        Kind::Condition => (
            "condition",
            "for the condition",
            format!("whose guard `{name}` waits with"),
        ),
    };
    if let Some(best) = did_you_mean(lock, &candidates) {
        errors.error_at(
            lock,
            format!(
                "no field `{lock}` in `{struct_name}` {role} `{name}`: did you mean `{}`?",
                best.ident
            ),
        );
        return input.field(best.ident);
    }
    let locks: Vec<String> = candidates
        .iter()
        .filter(|f| lock_type_name(&f.original.ty).is_some_and(|n| n.contains("Lock")))
        .map(|f| format!("`#[{attribute}({})]`", f.ident))
        .collect();
    let message = if locks.is_empty() {
        match kind {
            Kind::Guarded => format!(
                "no field `{lock}` in `{struct_name}`: `#[guarded({lock})]` names the \
                 `Lock`, `RLock` or `RwLock` field that guards `{name}`; add it to `{struct_name}`: \
                 `{lock}: Lock`"
            ),
            Kind::Condition => format!(
                "no field `{lock}` in `{struct_name}`: `#[condition({lock})]` names the \
                 `Lock` field whose guard `{name}` waits with; add it to `{struct_name}`: \
                 `{lock}: Lock`"
            ),
        }
    } else {
        format!(
            "no field `{lock}` in `{struct_name}`: name the lock field {named}, {}, \
             or add a lock field `{lock}: Lock`",
            locks.join(" or ")
        )
    };
    errors.error_at(lock, message);
    None
}

/// A `Condition` waits with the guard of a `Lock`: a condition whose lock
/// is written as another lock type (`RLock`, `RwLock`) is an error at the
/// lock's name in the attribute. (An alias of one is caught where the
/// condition is used: its waits accept only `Lock` guards.)
fn check_conditions(input: &Input<'_>, plan: &Plan, errors: &mut Errors) {
    for (i, lock) in plan.condition_of.iter().enumerate() {
        let Some(lock) = *lock else { continue };
        let written = lock_type_name(&input.fields[lock].original.ty);
        let Some(kind) = written.filter(|n| *n != "Lock" && KNOWN_LOCKS.contains(&n.as_str()))
        else {
            continue;
        };
        let lock_name = input.fields[lock].ident;
        let name = input.fields[i].ident;
        let guard = input.fields[i].attrs.condition.as_ref().map(|g| &g.lock);
        let why = if kind == "RwLock" {
            "`wait` must release the lock and take it back, and an `RwLock` has two kinds \
             of guard (a `Condition` would not know which to take back)"
        } else {
            "`wait` must release the lock completely, and an `RLock`'s owner may hold it \
             several times"
        };
        errors.error_at(
            guard,
            format!(
                "`{lock_name}` is an `{kind}`, and a `Condition` waits with the guard of a \
                 `Lock`: {why}. Make `{lock_name}` a `Lock`, or bind `{name}` to a `Lock` field"
            ),
        );
    }
}

/// A `#[cfg]` on a lock field must not silently remove the fields it
/// guards: each of them (and each condition bound to it) carries the same
/// `#[cfg]`s, or it is an error at the lock's `#[cfg]`.
fn check_cfgs(input: &Input<'_>, plan: &Plan, errors: &mut Errors) {
    for (j, lock) in input.fields.iter().enumerate() {
        if lock.attrs.cfgs.is_empty() {
            continue;
        }
        let dependents: Vec<usize> = (0..input.fields.len())
            .filter(|&i| plan.guarded_by[i] == Some(j) || plan.condition_of[i] == Some(j))
            .collect();
        for cfg in &lock.attrs.cfgs {
            let text = cfg.to_token_stream().to_string();
            let missing: Vec<String> = dependents
                .iter()
                .filter(|&&i| {
                    !input.fields[i]
                        .attrs
                        .cfgs
                        .iter()
                        .any(|c| c.to_token_stream().to_string() == text)
                })
                .map(|&i| format!("`{}`", input.fields[i].ident))
                .collect();
            if missing.is_empty() {
                continue;
            }
            let lock_name = lock.ident;
            let cfg_text = cfg.meta.to_token_stream().to_string();
            let (them, it_has, each) = if missing.len() == 1 {
                (missing[0].clone(), "it has", "it")
            } else {
                (missing.join(", "), "they have", "each of them")
            };
            errors.error_at(
                cfg,
                format!(
                    "this `#[{cfg_text}]` on the lock `{lock_name}` would also remove \
                     {them}, which it guards, although {it_has} no such `#[cfg]`: write \
                     the same `#[{cfg_text}]` on {each}, or remove it from `{lock_name}`"
                ),
            );
        }
    }
}

/// `order = [...]`: the lock fields it names, by rank.
fn order(input: &Input<'_>, plan: &Plan, errors: &mut Errors) -> Vec<usize> {
    let Some((_, names)) = &input.args.order else {
        return Vec::new();
    };
    let struct_name = &input.original.ident;
    let locks: Vec<&Field<'_>> = (0..input.fields.len())
        .filter(|&j| plan.is_lock(j))
        .map(|j| &input.fields[j])
        .collect();
    let list = locks
        .iter()
        .map(|f| format!("`{}`", f.ident))
        .collect::<Vec<_>>()
        .join(", ");
    if names.is_empty() {
        if let Some((span, _)) = &input.args.order {
            errors.push(syn::Error::new(
                *span,
                format!("`order = []` lists no lock: name the lock fields in the order they must be taken, from {list}"),
            ));
        }
        return Vec::new();
    }
    let mut out: Vec<usize> = Vec::new();
    for name in names {
        let found = input.field(name).filter(|&j| plan.is_lock(j));
        match found {
            Some(j) if out.contains(&j) => errors.error_at(
                name,
                format!(
                    "`{name}` is listed twice in `order`: each lock has one place in the order"
                ),
            ),
            Some(j) => out.push(j),
            None => {
                let message = match (input.field(name), did_you_mean(name, &locks)) {
                    (None, Some(best)) => format!(
                        "no lock `{name}` in `{struct_name}` to order: did you mean `{}`?",
                        best.ident
                    ),
                    (Some(_), _) => format!(
                        "`{name}` is not a lock of `{struct_name}`: `order` lists the lock \
                         fields that `#[guarded(...)]` or `#[condition(...)]` name ({list})"
                    ),
                    (None, None) => format!(
                        "no field `{name}` in `{struct_name}`: `order` lists its lock fields ({list})"
                    ),
                };
                errors.error_at(name, message);
            }
        }
    }
    out
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

/// The name of a written type's last path segment (`Lock` for
/// `warden::Lock<()>`), if it is a path.
pub fn lock_type_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(path) if path.qself.is_none() => {
            path.path.segments.last().map(|s| s.ident.to_string())
        }
        _ => None,
    }
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
