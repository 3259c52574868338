//! Fuzz target: `ferrokv::fuzz::zset` on every input AFL generates (see src/fuzz.rs).

fn main() {
    afl::fuzz!(|data: &[u8]| {
        ferrokv::fuzz::zset(data);
    });
}
