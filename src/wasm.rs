//! The npm package's wasm-bindgen surface (see js/). Written by the npm-package work.
