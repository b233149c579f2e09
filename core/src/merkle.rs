//! RFC 6962 Merkle trees: a streaming root builder, an in-memory tree that
//! produces inclusion and consistency proofs, and the proof checkers.
//!
//! Proof generation and checking are Cloudflare's `tlog_tiles` (a port of
//! Go's `sumdb/tlog`, used in production for Static CT logs). This module
//! adds what it lacks: a streaming root (O(log n) memory, for sealing files
//! of millions of records), checkers over untrusted byte strings (hash
//! lengths and sizes validated first, so malformed input is an error and
//! never a panic), and the size-0 / equal-size rules of RFC 9162 §2.1.4.2
//! that the shared test vectors require.

use tlog_tiles::{HashReader, node_hash};

use crate::hash::Hash;

/// The RFC 6962 hash of an interior node.
pub fn node(left: &Hash, right: &Hash) -> Hash {
    Hash::from_tlog(node_hash(left.to_tlog(), right.to_tlog()))
}

/// The RFC 6962 hash of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Hash::from_tlog(tlog_tiles::EMPTY_HASH)
}

/// Computes an RFC 6962 root over leaf hashes pushed one at a time, keeping
/// only the roots of the complete subtrees on the right edge (a "compact
/// range"): O(log n) memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RootBuilder {
    /// Roots of complete subtrees, largest first; their sizes are the set
    /// bits of `len`, from the highest down.
    stack: Vec<Hash>,
    len: u64,
}

impl RootBuilder {
    /// An empty tree.
    pub fn new() -> RootBuilder {
        RootBuilder::default()
    }

    /// Rebuilds the right edge from a tree's complete-subtree roots (as
    /// returned by [`RootBuilder::edge`]); `None` if their number does not
    /// match the set bits of `len`.
    pub fn from_edge(len: u64, edge: Vec<Hash>) -> Option<RootBuilder> {
        (edge.len() == len.count_ones() as usize).then_some(RootBuilder { stack: edge, len })
    }

    /// The complete-subtree roots of the right edge, largest first.
    pub fn edge(&self) -> &[Hash] {
        &self.stack
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        // Every trailing 1 bit of the old size closes a subtree.
        let mut size = self.len;
        while size & 1 == 1 {
            let left = self.stack.pop().expect("one stack entry per set bit");
            hash = node(&left, &hash);
            size >>= 1;
        }
        self.stack.push(hash);
        self.len += 1;
    }

    /// Number of leaves.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when no leaf was pushed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The root of the tree so far.
    pub fn root(&self) -> Hash {
        let mut iter = self.stack.iter().rev();
        let Some(last) = iter.next() else {
            return empty_root();
        };
        iter.fold(*last, |acc, left| node(left, &acc))
    }
}

/// A whole tree in memory (the "stored hashes" of Go's tlog: about two
/// hashes per leaf), for producing proofs.
#[derive(Clone, Debug, Default)]
pub struct MerkleTree {
    stored: Vec<tlog_tiles::Hash>,
    len: u64,
}

struct StoredHashes<'a>(&'a [tlog_tiles::Hash]);

impl HashReader for StoredHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i).ok().and_then(|i| self.0.get(i).copied()).ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

/// Why a proof could not be produced or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// Sizes or indices outside the tree, or in the wrong order.
    #[error("{0}")]
    Bounds(String),
    /// A hash that is not 32 bytes.
    #[error("{0} is not a 32-byte hash")]
    HashLength(&'static str),
    /// The proof does not lead to the expected root.
    #[error("proof does not verify")]
    Mismatch,
}

impl MerkleTree {
    /// Builds the tree over `leaves`.
    pub fn from_leaves(leaves: impl IntoIterator<Item = Hash>) -> MerkleTree {
        let mut tree = MerkleTree::default();
        for leaf in leaves {
            tree.push(leaf);
        }
        tree
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let hashes = tlog_tiles::stored_hashes_for_record_hash(self.len, leaf.to_tlog(), &StoredHashes(&self.stored))
            .expect("stored hashes of an in-memory tree are always present");
        self.stored.extend(hashes);
        self.len += 1;
    }

    /// Number of leaves.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when the tree has no leaf.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The root of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        if size > self.len {
            return Err(ProofError::Bounds(format!("size {size} exceeds tree size {}", self.len)));
        }
        tlog_tiles::tree_hash(size, &StoredHashes(&self.stored))
            .map(Hash::from_tlog)
            .map_err(|e| ProofError::Bounds(e.to_string()))
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        self.root_at(self.len).expect("own size is in bounds")
    }

    /// The inclusion proof of leaf `index` in the tree of the first `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        if size > self.len || index >= size {
            return Err(ProofError::Bounds(format!(
                "leaf {index} is not in a tree of size {size} (have {})",
                self.len
            )));
        }
        tlog_tiles::prove_record(size, index, &StoredHashes(&self.stored))
            .map(|p| p.into_iter().map(Hash::from_tlog).collect())
            .map_err(|e| ProofError::Bounds(e.to_string()))
    }

    /// The consistency proof from the tree of `old` leaves to that of `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ProofError> {
        if new > self.len || old > new || old == 0 {
            return Err(ProofError::Bounds(format!(
                "no consistency proof from size {old} to {new} (have {})",
                self.len
            )));
        }
        if old == new {
            return Ok(Vec::new());
        }
        tlog_tiles::prove_tree(new, old, &StoredHashes(&self.stored))
            .map(|p| p.into_iter().map(Hash::from_tlog).collect())
            .map_err(|e| ProofError::Bounds(e.to_string()))
    }
}

fn to_hash(bytes: &[u8], what: &'static str) -> Result<tlog_tiles::Hash, ProofError> {
    <[u8; 32]>::try_from(bytes).map(tlog_tiles::Hash).map_err(|_| ProofError::HashLength(what))
}

fn to_proof<B: AsRef<[u8]>>(proof: &[B]) -> Result<Vec<tlog_tiles::Hash>, ProofError> {
    proof.iter().map(|h| to_hash(h.as_ref(), "a proof element")).collect()
}

/// Checks that `leaf_hash` is leaf `index` of the tree of `size` leaves with
/// root `root`. Every input is untrusted: wrong lengths, out-of-range
/// indices and extra or missing proof elements are errors.
pub fn verify_inclusion<B: AsRef<[u8]>>(
    index: u64,
    size: u64,
    leaf_hash: &[u8],
    proof: &[B],
    root: &[u8],
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::Bounds(format!("leaf index {index} is not below tree size {size}")));
    }
    let leaf = to_hash(leaf_hash, "the leaf hash")?;
    let root = to_hash(root, "the root")?;
    let proof = to_proof(proof)?;
    tlog_tiles::check_record(&proof, size, root, index, leaf).map_err(|_| ProofError::Mismatch)
}

/// Checks that the tree of `size2` leaves with root `root2` extends the tree
/// of `size1` leaves with root `root1`. A proof from the empty tree is
/// refused (it proves nothing); equal sizes need equal roots and an empty
/// proof.
pub fn verify_consistency<B: AsRef<[u8]>>(
    size1: u64,
    size2: u64,
    root1: &[u8],
    root2: &[u8],
    proof: &[B],
) -> Result<(), ProofError> {
    if size1 == 0 {
        return Err(ProofError::Bounds("a consistency proof from the empty tree proves nothing".into()));
    }
    if size1 > size2 {
        return Err(ProofError::Bounds(format!("old size {size1} is larger than new size {size2}")));
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::Bounds("equal sizes need an empty proof".into()));
        }
        return if root1 == root2 { Ok(()) } else { Err(ProofError::Mismatch) };
    }
    let old = to_hash(root1, "the old root")?;
    let new = to_hash(root2, "the new root")?;
    let proof = to_proof(proof)?;
    tlog_tiles::check_tree(&proof, size2, new, size1, old).map_err(|_| ProofError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaf(i: u64) -> Hash {
        crate::hash::sha256_concat(&[&[0], &i.to_be_bytes()])
    }

    /// The reference root: RFC 6962 §2.1's recursive definition.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = (n - 1).next_power_of_two().max(1);
                let k = if k >= n { k / 2 } else { k };
                node(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    proptest! {
        #[test]
        fn streaming_root_matches_reference(n in 0u64..300) {
            let leaves: Vec<Hash> = (0..n).map(leaf).collect();
            let mut builder = RootBuilder::new();
            for l in &leaves { builder.push(*l); }
            let tree = MerkleTree::from_leaves(leaves.iter().copied());
            prop_assert_eq!(builder.root(), reference_root(&leaves));
            prop_assert_eq!(tree.root(), reference_root(&leaves));
            let rebuilt = RootBuilder::from_edge(builder.len(), builder.edge().to_vec()).unwrap();
            prop_assert_eq!(rebuilt.root(), builder.root());
        }

        #[test]
        fn proofs_verify_and_tampered_proofs_fail(n in 1u64..200, i in 0u64..200, j in 1u64..200, flip in 0usize..32) {
            let tree = MerkleTree::from_leaves((0..n).map(leaf));
            let index = i % n;
            let root = tree.root();
            let proof = tree.inclusion_proof(index, n).unwrap();
            prop_assert!(verify_inclusion(index, n, leaf(index).as_bytes(), &proof, root.as_bytes()).is_ok());
            // An extra element, a missing element, an altered element: all rejected.
            let mut extra = proof.clone(); extra.push(leaf(0));
            prop_assert!(verify_inclusion(index, n, leaf(index).as_bytes(), &extra, root.as_bytes()).is_err());
            if !proof.is_empty() {
                let mut missing = proof.clone(); missing.pop();
                prop_assert!(verify_inclusion(index, n, leaf(index).as_bytes(), &missing, root.as_bytes()).is_err());
                let mut altered = proof.clone(); altered[flip % proof.len()].0[flip] ^= 1;
                prop_assert!(verify_inclusion(index, n, leaf(index).as_bytes(), &altered, root.as_bytes()).is_err());
            }
            let old = 1 + (j - 1) % n;
            let cproof = tree.consistency_proof(old, n).unwrap();
            let old_root = tree.root_at(old).unwrap();
            prop_assert!(verify_consistency(old, n, old_root.as_bytes(), root.as_bytes(), &cproof).is_ok());
            let mut extra = cproof.clone(); extra.push(leaf(1));
            prop_assert!(verify_consistency(old, n, old_root.as_bytes(), root.as_bytes(), &extra).is_err());
            if !cproof.is_empty() {
                let mut altered = cproof.clone(); altered[flip % cproof.len()].0[flip] ^= 1;
                prop_assert!(verify_consistency(old, n, old_root.as_bytes(), root.as_bytes(), &altered).is_err());
                let mut missing = cproof.clone(); missing.remove(0);
                prop_assert!(verify_consistency(old, n, old_root.as_bytes(), root.as_bytes(), &missing).is_err());
            }
        }
    }
}
