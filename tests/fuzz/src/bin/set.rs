//! Fuzz target: `ferrokv::fuzz::set` on every input AFL generates (see src/fuzz.rs).

fn main() {
    afl::fuzz!(|data: &[u8]| {
        ferrokv::fuzz::set(data);
    });
}
