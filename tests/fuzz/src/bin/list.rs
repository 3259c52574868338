//! Fuzz target: `ferrokv::fuzz::list` on every input AFL generates (see src/fuzz.rs).

fn main() {
    afl::fuzz!(|data: &[u8]| {
        ferrokv::fuzz::list(data);
    });
}
