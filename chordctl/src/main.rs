//! chordctl: placeholder until the chordctl issue lands.
fn main() {
    eprintln!("chordctl: not built yet");
    std::process::exit(1);
}
