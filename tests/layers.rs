//! The crate's layering, checked from its source: no import cycle among the files of `src/`,
//! and no core file imports the edge layer (`src/gateway/`, `src/dpop/`) or a host (`src/worker/`,
//! `src/wasm*`, `src/bin/`). A `use` that breaks either rule fails here, naming the files.
//!
//! An import is a `use crate::…` or `use super::…` path (the file it names: `crate::gateway::
//! routes::Mode` is `src/gateway/routes.rs`, `crate::gateway::granted_scopes` is
//! `src/gateway/mod.rs`). `pub use` re-exports are not imports: a parent naming its child's
//! items for callers depends on nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers: a fixture that cannot be built must stop the test at that line"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file: `src/gateway/routes.rs` → `["gateway", "routes"]`, `src/lib.rs`
/// → `[]`, `src/gateway/mod.rs` → `["gateway"]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The file of the longest module prefix of `path` that exists.
fn file_of(modules: &BTreeMap<Vec<String>, PathBuf>, path: &[String]) -> Option<PathBuf> {
    (0..=path.len())
        .rev()
        .find_map(|n| modules.get(&path[..n]).cloned())
}

/// The module paths a file imports (the text after `use crate::` / `use super::`, each brace
/// group expanded one level, which is how this crate writes them).
fn imports(text: &str, module: &[String], is_mod_file: bool) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    // Join multi-line `use` statements first.
    let mut statements = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(stmt) = current.as_mut() {
            stmt.push_str(line);
            if line.ends_with(';') {
                statements.push(current.take().unwrap());
            }
        } else if line.starts_with("use ") {
            if line.ends_with(';') {
                statements.push(line.to_owned());
            } else {
                current = Some(line.to_owned());
            }
        }
    }
    for stmt in statements {
        let body = stmt.trim_start_matches("use ").trim_end_matches(';');
        let (base, rest): (Vec<String>, &str) = if let Some(rest) = body.strip_prefix("crate::") {
            (Vec::new(), rest)
        } else if let Some(rest) = body.strip_prefix("super::") {
            // In a mod.rs file `super` is the parent of the folder's module.
            let mut parent = module.to_vec();
            if !is_mod_file || !parent.is_empty() {
                parent.pop();
            }
            (parent, rest)
        } else {
            continue;
        };
        let (prefix, group) = match rest.split_once('{') {
            Some((prefix, group)) => (prefix, Some(group.trim_end_matches('}'))),
            None => (rest, None),
        };
        let prefix: Vec<String> = prefix
            .split("::")
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        let mut targets = Vec::new();
        match group {
            None => targets.push(prefix.clone()),
            Some(group) => {
                for item in group.split(',') {
                    let item = item.trim();
                    if item.is_empty() {
                        continue;
                    }
                    let mut path = prefix.clone();
                    if item != "self" {
                        path.extend(item.split("::").map(str::to_owned));
                    }
                    targets.push(path);
                }
            }
        }
        for target in targets {
            let mut full = base.clone();
            full.extend(target);
            found.push(full);
        }
    }
    found
}

struct Graph {
    edges: BTreeMap<PathBuf, BTreeSet<PathBuf>>,
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.retain(|f| !f.starts_with(src.join("bin")));
    let modules: BTreeMap<Vec<String>, PathBuf> = files
        .iter()
        .map(|f| (module_of(&src, f), f.clone()))
        .collect();
    let mut edges = BTreeMap::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        // Strip `pub use` re-exports and test modules (tests may import anything).
        let text = text.split("#[cfg(test)]").next().unwrap();
        let text: String = text
            .lines()
            .filter(|l| {
                !l.trim_start().starts_with("pub use")
                    && !l.trim_start().starts_with("pub(crate) use")
            })
            .collect::<Vec<_>>()
            .join("\n");
        let module = module_of(&src, file);
        let is_mod_file = file.file_name().is_some_and(|n| n == "mod.rs");
        let targets: BTreeSet<PathBuf> = imports(&text, &module, is_mod_file)
            .iter()
            .filter_map(|path| file_of(&modules, path))
            .filter(|target| target != file)
            .collect();
        edges.insert(file.clone(), targets);
    }
    Graph { edges }
}

fn relative(path: &Path) -> String {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn no_import_cycle_among_source_files() {
    let graph = graph();
    // Depth-first search with colours; a grey target is a cycle.
    fn visit(
        node: &PathBuf,
        graph: &Graph,
        state: &mut BTreeMap<PathBuf, u8>,
        stack: &mut Vec<PathBuf>,
    ) -> Option<Vec<PathBuf>> {
        state.insert(node.clone(), 1);
        stack.push(node.clone());
        for next in graph.edges.get(node).into_iter().flatten() {
            match state.get(next).copied().unwrap_or(0) {
                1 => {
                    let start = stack.iter().position(|n| n == next).unwrap();
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(cycle) = visit(next, graph, state, stack) {
                        return Some(cycle);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.edges.keys() {
        if state.get(node).copied().unwrap_or(0) == 0 {
            if let Some(cycle) = visit(node, &graph, &mut state, &mut Vec::new()) {
                let names: Vec<String> = cycle.iter().map(|p| relative(p)).collect();
                panic!("import cycle: {}", names.join(" → "));
            }
        }
    }
}

#[test]
fn the_core_never_imports_the_edge_layer_or_a_host() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let outer = |p: &Path| {
        // `dpop/` checks HTTP requests (method, URI, headers) as the gateway does, and shares
        // its canonical path: it belongs to the edge layer.
        p.starts_with(src.join("gateway"))
            || p.starts_with(src.join("dpop"))
            || p.starts_with(src.join("worker"))
            || p.starts_with(src.join("wasm"))
            || p == src.join("wasm.rs")
    };
    let graph = graph();
    let mut violations = Vec::new();
    for (file, targets) in &graph.edges {
        if outer(file) || file == &src.join("lib.rs") {
            continue;
        }
        for target in targets.iter().filter(|t| outer(t)) {
            violations.push(format!("{} imports {}", relative(file), relative(target)));
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    // The check sees real imports: the edge layer does import the core.
    assert!(graph.edges[&src.join("gateway/routes.rs")].contains(&src.join("policy.rs")));
}
