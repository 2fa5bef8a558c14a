//! SCTID syntax: 6 to 18 digits, no leading zero, a partition identifier and a Verhoeff
//! check digit.

const D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];

const P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

const INV: [u8; 10] = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];

/// True when the string of ASCII digits (check digit last) passes the Verhoeff check.
/// Any non-digit character makes it false.
pub fn verhoeff_valid(digits: &str) -> bool {
    if digits.is_empty() {
        return false;
    }
    let mut c = 0u8;
    for (i, ch) in digits.bytes().rev().enumerate() {
        if !ch.is_ascii_digit() {
            return false;
        }
        c = D[c as usize][P[i % 8][(ch - b'0') as usize] as usize];
    }
    c == 0
}

/// The Verhoeff check digit to append to `digits` (ASCII digits); `None` on a non-digit.
pub fn verhoeff_check_digit(digits: &str) -> Option<u8> {
    let mut c = 0u8;
    for (i, ch) in digits.bytes().rev().enumerate() {
        if !ch.is_ascii_digit() {
            return None;
        }
        c = D[c as usize][P[(i + 1) % 8][(ch - b'0') as usize] as usize];
    }
    Some(INV[c as usize])
}

/// What kind of component an SCTID's partition identifier names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    Concept,
    Description,
    Relationship,
    Other,
}

/// The component kind of a syntactically valid SCTID (partition digits 00/10 concept,
/// 01/11 description, 02/12 relationship).
pub fn partition(digits: &str) -> Partition {
    let b = digits.as_bytes();
    if b.len() < 3 {
        return Partition::Other;
    }
    match (b[b.len() - 3], b[b.len() - 2]) {
        (b'0' | b'1', b'0') => Partition::Concept,
        (b'0' | b'1', b'1') => Partition::Description,
        (b'0' | b'1', b'2') => Partition::Relationship,
        _ => Partition::Other,
    }
}

/// Why a string is not a valid concept SCTID; `None` when it is one.
pub fn concept_id_problem(digits: &str) -> Option<&'static str> {
    let n = digits.len();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Some("an SCTID has only digits");
    }
    if !(6..=18).contains(&n) {
        return Some("an SCTID has 6 to 18 digits");
    }
    if digits.starts_with('0') {
        return Some("an SCTID does not start with 0");
    }
    if !verhoeff_valid(digits) {
        return Some("the check digit is wrong");
    }
    if partition(digits) != Partition::Concept {
        return Some("the partition identifier is not that of a concept");
    }
    None
}

/// True when `s` is a well-formed concept identifier (length, no leading zero, Verhoeff check
/// digit, concept partition).
pub fn is_valid_concept_id(s: &str) -> bool {
    concept_id_problem(s).is_none()
}
