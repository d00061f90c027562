//! String keys to PostgreSQL advisory-lock keys.
//!
//! An advisory lock is named by one `bigint`. warden maps
//! `(namespace, kind, key)` to it with 64-bit FNV-1a over the UTF-8 bytes of
//! the three strings, separated by the byte `0xFF` (which UTF-8 never
//! contains, so `("ab", "c")` and `("a", "bc")` differ), read as a signed
//! `i64`. The function is fixed: two processes built from different
//! versions of warden agree on it, and so does anything else that computes
//! it (the book prints it in SQL).
//!
//! Kinds: `lock` (a `Lock` or `RLock` — the same kind, so an `RLock` and a
//! `Lock` of one key exclude each other), `semaphore` (whose low 20 bits are
//! then cleared and replaced by the permit's slot number), `barrier` (one key
//! per arriving party, from a server-side sequence), `setup`.

/// FNV-1a, 64 bits.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0xFF;
            h = h.wrapping_mul(PRIME);
        }
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
    }
    h
}

/// The advisory-lock key of `key` of kind `kind` in `namespace`.
pub(crate) fn advisory_key(namespace: &str, kind: &str, key: &str) -> i64 {
    i64::from_ne_bytes(
        fnv1a(&[namespace.as_bytes(), kind.as_bytes(), key.as_bytes()]).to_ne_bytes(),
    )
}

/// Slot bits of a semaphore key: up to 2^20 permits.
pub(crate) const SLOT_BITS: u32 = 20;

/// The base key of a semaphore: its slots are `base | slot`.
pub(crate) fn semaphore_base(namespace: &str, key: &str) -> i64 {
    advisory_key(namespace, "semaphore", key) & !((1_i64 << SLOT_BITS) - 1)
}

/// The (classid, objid) pair under which `pg_locks` shows a `bigint`
/// advisory key (with `objsubid = 1`).
pub(crate) fn pg_locks_ids(key: i64) -> (u32, u32) {
    let k = u64::from_ne_bytes(key.to_ne_bytes());
    let hi = u32::try_from(k >> 32).unwrap_or(u32::MAX);
    let lo = u32::try_from(k & u64::from(u32::MAX)).unwrap_or(u32::MAX);
    (hi, lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_reference_values() {
        // FNV-1a 64 of "" and "a" (the published test vectors).
        assert_eq!(fnv1a(&[b""]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(&[b"a"]), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn separator_makes_parts_unambiguous() {
        assert_ne!(
            advisory_key("ns", "lock", "ab"),
            advisory_key("ns", "lockab", "")
        );
        assert_ne!(
            advisory_key("a", "lock", "k"),
            advisory_key("b", "lock", "k")
        );
    }

    #[test]
    fn semaphore_slots_share_the_base() {
        let base = semaphore_base("warden", "pool");
        assert_eq!(base & ((1 << SLOT_BITS) - 1), 0);
    }

    #[test]
    fn pg_locks_ids_split_the_key() {
        assert_eq!(pg_locks_ids(-1), (u32::MAX, u32::MAX));
        assert_eq!(pg_locks_ids(1 << 32 | 7), (1, 7));
    }
}
