//! Print the concise JSON of a resolved HOCON file, like the JVM `ConfigDump` fixture:
//! `cargo run -p hocon-config --example dump -- FILE [PATH]`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(file) = args.first() else {
        eprintln!("usage: dump FILE [PATH]");
        std::process::exit(2);
    };
    match hocon_config::resolve_to_json(
        std::path::Path::new(file),
        args.get(1).map(|s| s.as_str()),
        &[],
        false,
    ) {
        Ok(json) => println!("{}", json),
        Err(e) => {
            println!("ERROR {}: {}", e.kind().java_name(), e);
            std::process::exit(1);
        }
    }
}
