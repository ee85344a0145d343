//! Fuzz target: arbitrary bytes as HOCON, JSON and properties; parse, resolve, query, render.
#![no_main]

use hocon_config::{Config, ParseOptions, RenderOptions, ResolveOptions, Syntax};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else { return };
    let syntax = match sel % 3 {
        0 => Syntax::Conf,
        1 => Syntax::Json,
        _ => Syntax::Properties,
    };
    let opts = ParseOptions::default().with_syntax(syntax);
    let Ok(cfg) = Config::parse_reader(body, &opts) else { return };
    let _ = cfg.render(&RenderOptions::defaults());
    let resolved = match cfg.resolve_with_options(ResolveOptions::no_system().set_allow_unresolved(sel & 4 != 0)) {
        Ok(r) => r,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let text = resolved.render_concise();
    if resolved.is_resolved() && !text.contains("Infinity") && !text.contains("NaN") {
        // rendering round-trips through the JSON parser
        let back = Config::parse_string_with(&text, &ParseOptions::default().with_syntax(Syntax::Json))
            .expect("concise rendering of a resolved config parses as JSON");
        assert_eq!(back.render_concise(), text);
    }
    if let Ok(entries) = resolved.entry_set() {
        for (path, _) in entries.iter().take(32) {
            let _ = resolved.get_string(path);
            let _ = resolved.get_duration_nanos(path);
            let _ = resolved.get_bytes(path);
            let _ = resolved.get_int(path);
            let _ = resolved.get_period(path);
            let _ = resolved.get_string_list(path);
        }
    }
    let _ = resolved.render(&RenderOptions::hocon());
});
