//! A map kept as a sorted vector. The server's maps are small (a few fids
//! per connection, a few pending reads) or grow at the end (connection
//! ids only increase), and a vector costs far less memory per entry and
//! far less code in the binary than a B-tree instantiated for every
//! key and value type. Lookups are binary searches; keyfs keeps its
//! name and qid tables here too (inserts move the tail, which only
//! account creation pays).

use std::borrow::Borrow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VecMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap(Vec::new())
    }
}

impl<K: Ord, V> VecMap<K, V> {
    pub fn new() -> Self {
        VecMap(Vec::new())
    }

    fn find<Q: Ord + ?Sized>(&self, k: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.0.binary_search_by(|e| e.0.borrow().cmp(k))
    }

    pub fn get<Q: Ord + ?Sized>(&self, k: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        let i = self.find(k).ok()?;
        self.0.get(i).map(|e| &e.1)
    }

    pub fn get_mut<Q: Ord + ?Sized>(&mut self, k: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        let i = self.find(k).ok()?;
        self.0.get_mut(i).map(|e| &mut e.1)
    }

    pub fn contains_key<Q: Ord + ?Sized>(&self, k: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.find(k).is_ok()
    }

    /// Insert, returning the value it replaces.
    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        match self.find(&k) {
            Ok(i) => self.0.get_mut(i).map(|e| std::mem::replace(&mut e.1, v)),
            Err(i) => {
                self.0.insert(i, (k, v));
                None
            }
        }
    }

    /// The value at `k`, made by `make` (which may fail) when absent.
    pub fn get_or_try_insert_with<E>(
        &mut self,
        k: K,
        make: impl FnOnce() -> Result<V, E>,
    ) -> Result<&mut V, E> {
        let i = match self.find(&k) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (k, make()?));
                i
            }
        };
        Ok(&mut self.0[i].1)
    }

    pub fn remove<Q: Ord + ?Sized>(&mut self, k: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let i = self.find(k).ok()?;
        let v = self.0.remove(i).1;
        if self.0.len() * 4 < self.0.capacity() {
            self.0.shrink_to(self.0.len() * 2);
        }
        Some(v)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.0.iter().map(|e| (&e.0, &e.1))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.0.iter_mut().map(|(k, v)| (&*k, v))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> {
        self.0.iter().map(|e| &e.0)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> {
        self.0.iter().map(|e| &e.1)
    }

    pub fn clear(&mut self) {
        self.0 = Vec::new();
    }

    pub fn into_values(self) -> impl Iterator<Item = V> {
        self.0.into_iter().map(|e| e.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_a_map() {
        let mut m = VecMap::new();
        for k in [5u32, 1, 9, 3, 7] {
            assert_eq!(m.insert(k, k * 10), None);
        }
        assert_eq!(m.insert(3, 33), Some(30));
        assert_eq!(
            m.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            [1, 3, 5, 7, 9]
        );
        assert_eq!(m.get(&3), Some(&33));
        assert_eq!(m.get(&4), None);
        *m.get_mut(&9).unwrap() = 99;
        assert_eq!(m.remove(&9), Some(99));
        assert_eq!(m.remove(&9), None);
        assert!(m.contains_key(&1) && !m.contains_key(&9));
        assert_eq!(m.len(), 4);
        assert_eq!(m.values().sum::<u32>(), 10 + 33 + 50 + 70);
        for k in [1, 3, 5, 7] {
            m.remove(&k);
        }
        assert_eq!(m.into_values().count(), 0);
    }

    #[test]
    fn keys_and_values_run_both_ways_in_key_order() {
        let mut m = VecMap::new();
        for k in [2u64, 8, 4] {
            m.insert(k, k + 1);
        }
        assert_eq!(m.keys().copied().collect::<Vec<_>>(), [2, 4, 8]);
        assert_eq!(m.values().rev().copied().collect::<Vec<_>>(), [9, 5, 3]);
        m.clear();
        assert_eq!(m.len(), 0);
        assert_eq!(m.get(&2), None);
    }

    #[test]
    fn get_or_try_insert_with_makes_only_what_is_missing() {
        let mut m = VecMap::new();
        m.insert(2u8, 20);
        *m.get_or_try_insert_with(2, || Err::<u8, ()>(())).unwrap() += 1;
        assert_eq!(m.get(&2), Some(&21));
        assert_eq!(
            m.get_or_try_insert_with(1, || Ok::<u8, ()>(10)),
            Ok(&mut 10)
        );
        assert_eq!(
            m.get_or_try_insert_with(3, || Err::<u8, &str>("no")),
            Err("no")
        );
        assert_eq!(m.keys().copied().collect::<Vec<_>>(), [1, 2]);
    }

    #[test]
    fn owned_keys_are_found_by_borrowed_ones() {
        let mut m = VecMap::new();
        for k in ["glenda", "bootes", "adm"] {
            m.insert(k.to_string(), k.len());
        }
        assert_eq!(m.get("bootes"), Some(&6));
        assert_eq!(m.remove("adm"), Some(3));
        assert!(!m.contains_key("adm"));
        assert_eq!(
            m.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["bootes", "glenda"]
        );
    }
}
