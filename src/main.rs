//! The ferrokv binary. Everything lives in the library (`src/lib.rs`), so that the fuzz
//! targets can call the parsers and decoders the server runs.

fn main() {
    ferrokv::main()
}
