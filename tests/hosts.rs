//! The in-memory host implementations behave as the traits promise, on every target.

use edge_registry::clock::{Clock, FixedClock};
use edge_registry::error::ErrorCode;
use edge_registry::fetch::{Fetch, MemoryFetch};
use edge_registry::store::{MemoryStore, Op, Store};

everywhere_async! {
    async fn memory_fetch_streams_and_enforces_the_limit() {
        let f = MemoryFetch::new().with_chunk_size(3);
        f.insert("a", b"0123456789".to_vec());
        let mut seen = Vec::new();
        f.fetch("a", 10, &mut |c| { seen.push(c.len()); Ok(()) }).await.unwrap();
        assert_eq!(seen, vec![3, 3, 3, 1]);
        let mut got = 0;
        let err = f.fetch("a", 7, &mut |c| { got += c.len(); Ok(()) }).await.unwrap_err();
        assert_eq!(err.code(), "LENGTH_EXCEEDED");
        assert!(got <= 7, "excess bytes reached the sink: {got}");
        assert_eq!(f.fetch_bytes("missing", 1).await.unwrap_err().code(), "NOT_FOUND");
        let err = f.fetch("a", 10, &mut |_| Err(())).await.unwrap_err();
        assert_eq!(err.code(), "SINK_STOPPED");
        f.set_offline(true);
        assert_eq!(f.fetch_bytes("a", 10).await.unwrap_err().code(), "NETWORK");
        assert_eq!(f.requests(), vec!["a", "a", "missing", "a", "a"]);
    }

    async fn commit_if_is_a_compare_and_set() {
        let s = std::rc::Rc::new(MemoryStore::new());
        assert!(s.commit_if("k", None, &[Op::Put("k", b"1"), Op::Put("x", b"a")]).await.unwrap());
        assert!(!s.commit_if("k", None, &[Op::Put("k", b"2")]).await.unwrap());
        assert!(!s.commit_if("k", Some(b"0"), &[Op::Put("k", b"2")]).await.unwrap());
        assert_eq!(s.get("k").await.unwrap().as_deref(), Some(&b"1"[..]));
        assert!(s.commit_if("k", Some(b"1"), &[Op::Delete("k"), Op::Delete("x")]).await.unwrap());
        assert!(s.keys("").await.unwrap().is_empty());
        assert_eq!(s.estimate().await.unwrap(), None);
    }

    async fn memory_store_batches_and_prefixes() {
        let s = MemoryStore::new();
        s.commit(&[Op::Put("m/a", b"1"), Op::Put("m/b", b"22"), Op::Put("n/c", b"3")]).await.unwrap();
        assert_eq!(s.keys("m/").await.unwrap(), vec!["m/a", "m/b"]);
        assert_eq!(s.get("m/b").await.unwrap().as_deref(), Some(&b"22"[..]));
        s.commit(&[Op::Delete("m/a"), Op::Put("m/b", b"x")]).await.unwrap();
        assert_eq!(s.keys("").await.unwrap(), vec!["m/b", "n/c"]);
        assert_eq!(s.get("m/a").await.unwrap(), None);
        assert_eq!(s.total_bytes(), 2);
    }
}

everywhere! {
    fn fixed_clock_moves_only_when_told() {
        let c = FixedClock::new(1_700_000_000);
        assert_eq!(c.now(), 1_700_000_000);
        c.set(5);
        assert_eq!(c.now(), 5);
    }
}
