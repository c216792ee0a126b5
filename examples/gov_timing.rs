use std::time::Instant;
use skillguard::governance::Governance;
use skillguard::store::Store;
fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let store = Store::open(Some(path.to_str().unwrap())).unwrap();
    let g = Governance::new(store.clone(), None);
    g.set_agent_maturity("a", "supervised", None).unwrap();
    for i in 0..200 { g.approve("python", &format!("package-{i}>=1,<3"), "intern", None, None).unwrap(); }
    let rounds: Vec<Vec<(String, String)>> = (0..3000).map(|r| (0..200).map(|i| (format!("package-{i}"), format!("2.1.{r}"))).collect()).collect();
    let t = Instant::now();
    for round in &rounds {
        let pairs: Vec<(&str, &str)> = round.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        g.check_many("a", "python", &pairs).unwrap();
    }
    println!("check_many 200 uncached decisions: {:?}", t.elapsed() / 3000);
}
