use std::time::Instant;
use skillguard::governance::Governance;
use skillguard::store::Store;
fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let store = Store::open(Some(path.to_str().unwrap())).unwrap();
    let g = Governance::with_cache(store.clone(), None, 0, std::time::Duration::from_secs(300));
    g.set_agent_maturity("a", "supervised", None).unwrap();
    for i in 0..200 { g.approve("python", &format!("package-{i}>=1,<3"), "intern", None, None).unwrap(); }
    let n = 20000;
    let t = Instant::now();
    for _ in 0..n { g.check_shared("a", "python", "package-1", "2.0.0").unwrap(); }
    println!("check_shared uncached: {:?}", t.elapsed() / n);
    let t = Instant::now();
    for _ in 0..n { g.agent_state("a").unwrap(); }
    println!("agent_state: {:?}", t.elapsed() / n);
    let t = Instant::now();
    for _ in 0..n { let c = store.lock(); let mut s = c.prepare_cached("SELECT id FROM package_policies WHERE package_type = ?1 AND name = ?2").unwrap(); let _: Vec<i64> = s.query_map(["python", "package-1"], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect(); }
    println!("bare record query: {:?}", t.elapsed() / n);
    let pairs: Vec<(String, String)> = (0..200).map(|i| (format!("package-{i}"), "2.0.0".to_string())).collect();
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let t = Instant::now();
    for _ in 0..100 { g.check_many("a", "python", &pairs).unwrap(); }
    println!("check_many 200: {:?}", t.elapsed() / 100);
    use std::str::FromStr;
    let t = Instant::now();
    for _ in 0..n { let _ = pep508_rs::pep440_rs::VersionSpecifiers::from_str(">=1, <3").unwrap(); }
    println!("specifiers parse: {:?}", t.elapsed() / n);
    let t = Instant::now();
    for _ in 0..n { let _ = pep508_rs::pep440_rs::Version::from_str("2.0.0").unwrap(); }
    println!("version parse: {:?}", t.elapsed() / n);
    let t = Instant::now();
    for _ in 0..n { let c = store.lock(); let mut s = c.prepare_cached("SELECT id, package_type, name, specifier, status, min_maturity, reason, requested_by, approved_by, approved_at, banned_by, expires_at, created_at, updated_at, (julianday(expires_at) - 2440587.5) * 86400.0 FROM package_policies WHERE package_type = ?1 AND name = ?2").unwrap(); let _: Vec<(i64,String,String,String,String,Option<String>,Option<String>,Option<String>,Option<String>,Option<String>,Option<String>,Option<String>,String,String,Option<f64>)> = s.query_map(["python", "package-1"], |r| Ok((r.get(0)?,r.get(1)?,r.get(2)?,r.get(3)?,r.get(4)?,r.get(5)?,r.get(6)?,r.get(7)?,r.get(8)?,r.get(9)?,r.get(10)?,r.get(11)?,r.get(12)?,r.get(13)?,r.get(14)?))).unwrap().map(|r| r.unwrap()).collect(); }
    println!("full row query: {:?}", t.elapsed() / n);
    let names: Vec<String> = (0..200).map(|i| format!("package-{i}")).collect();
    let names_json = serde_json::to_string(&names).unwrap();
    let t = Instant::now();
    for _ in 0..100 { let c = store.lock(); let mut s = c.prepare_cached("SELECT id, specifier FROM package_policies WHERE package_type = ?1 AND name IN (SELECT value FROM json_each(?2))").unwrap(); let v: Vec<(i64, String)> = s.query_map(rusqlite::params!["python", names_json], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(|r| r.unwrap()).collect(); assert_eq!(v.len(), 200); }
    println!("json_each 200 names, 2 columns: {:?}", t.elapsed() / 100);
    let t = Instant::now();
    for _ in 0..100 { let c = store.lock(); let mut s = c.prepare_cached("SELECT id, specifier FROM package_policies WHERE package_type = ?1").unwrap(); let v: Vec<(i64, String)> = s.query_map(rusqlite::params!["python"], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(|r| r.unwrap()).collect(); assert!(v.len() >= 200); }
    println!("all rows, 2 columns: {:?}", t.elapsed() / 100);
}
