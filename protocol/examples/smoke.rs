fn main() {
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path).unwrap();
        match lienthong_protocol::edxml::read(bytes) {
            Ok(p) => {
                println!(
                    "{path}: OK {} from {} to {:?} doc {:?}",
                    p.message.kind(),
                    p.message.from(),
                    p.message.addressees(),
                    p.message.document_id()
                );
                for w in &p.warnings {
                    println!("   warn {w}");
                }
            }
            Err(e) => println!("{path}: ERR {e}"),
        }
    }
}
