//! The multi-part AOF layout of Redis 7: `<dir>/<appenddirname>/` holds one base file (a
//! snapshot), incr files (commands since that snapshot, in order) and a manifest naming them:
//!
//! ```text
//! file appendonly.aof.3.base.aof seq 3 type b
//! file appendonly.aof.7.incr.aof seq 7 type i
//! file appendonly.aof.8.incr.aof seq 8 type i
//! ```
//!
//! The manifest is the commit point of a rewrite: it is replaced atomically (write a temp
//! file, fsync, rename over, fsync the directory), so after a crash it names either the old
//! set of files or the new one, never a mix.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// What a file listed in the manifest holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Base,
    Incr,
    /// Replaced by a rewrite, waiting to be deleted (Redis's `type h`).
    History,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AofFile {
    pub name: String,
    pub seq: u64,
    pub kind: FileKind,
}

/// The parsed manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<AofFile>,
    pub incrs: Vec<AofFile>,
    pub history: Vec<AofFile>,
}

/// Longest manifest line Redis accepts.
const MAX_LINE: usize = 1024;

impl Manifest {
    /// Path of the manifest for `appendfilename` inside the AOF directory.
    pub fn path(aof_dir: &Path, filename: &str) -> PathBuf {
        aof_dir.join(format!("{filename}.manifest"))
    }

    /// Reads the manifest; `Ok(None)` if there is none.
    pub fn load(aof_dir: &Path, filename: &str) -> io::Result<Option<Manifest>> {
        let path = Self::path(aof_dir, filename);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        Self::parse(&text).map(Some).map_err(|msg| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {msg}", path.display()),
            )
        })
    }

    /// Parses manifest text (`file <name> seq <n> type <b|i|h>` per line, `#` comments).
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut m = Manifest::default();
        for (no, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.len() > MAX_LINE {
                return Err(format!("line {} is too long", no + 1));
            }
            let words = split_words(line).ok_or_else(|| format!("line {}: bad quoting", no + 1))?;
            if words.len() % 2 != 0 {
                return Err(format!("line {}: invalid format", no + 1));
            }
            let (mut name, mut seq, mut kind) = (None, None, None);
            for kv in words.chunks(2) {
                match kv[0].as_str() {
                    "file" => name = Some(kv[1].clone()),
                    "seq" => seq = kv[1].parse::<u64>().ok(),
                    "type" => {
                        kind = match kv[1].as_str() {
                            "b" => Some(FileKind::Base),
                            "i" => Some(FileKind::Incr),
                            "h" => Some(FileKind::History),
                            _ => None,
                        }
                    }
                    // Unknown keys are allowed, as in Redis (forward compatibility).
                    _ => {}
                }
            }
            let (Some(name), Some(seq), Some(kind)) = (name, seq, kind) else {
                return Err(format!("line {}: missing file, seq or type", no + 1));
            };
            if name.contains('/') {
                return Err(format!("line {}: file name contains '/'", no + 1));
            }
            let f = AofFile { name, seq, kind };
            match kind {
                FileKind::Base if m.base.is_some() => {
                    return Err("more than one base file".into());
                }
                FileKind::Base => m.base = Some(f),
                FileKind::Incr => {
                    if m.incrs.last().is_some_and(|l| l.seq >= seq) {
                        return Err("incr files are not in increasing seq order".into());
                    }
                    m.incrs.push(f)
                }
                FileKind::History => m.history.push(f),
            }
        }
        if m.base.is_none() && m.incrs.is_empty() {
            return Err("no base and no incr file".into());
        }
        Ok(m)
    }

    /// The manifest as text, in Redis's format.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let all = self
            .base
            .iter()
            .chain(self.history.iter())
            .chain(self.incrs.iter());
        for f in all {
            let t = match f.kind {
                FileKind::Base => 'b',
                FileKind::Incr => 'i',
                FileKind::History => 'h',
            };
            s.push_str("file ");
            push_name(&mut s, &f.name);
            s.push_str(&format!(" seq {} type {t}\n", f.seq));
        }
        s
    }

    /// Writes the manifest atomically: temp file, fsync, rename, fsync of the directory.
    pub fn persist(&self, aof_dir: &Path, filename: &str) -> io::Result<()> {
        let tmp = aof_dir.join(format!("temp-{filename}.manifest"));
        {
            let mut f = File::create(&tmp)?;
            f.write_all(self.to_text().as_bytes())?;
            f.sync_all()?;
        }
        fs::rename(&tmp, Self::path(aof_dir, filename))?;
        sync_dir(aof_dir)
    }

    /// Highest sequence number used by any listed file.
    pub fn max_seq(&self) -> u64 {
        self.base
            .iter()
            .chain(&self.incrs)
            .chain(&self.history)
            .map(|f| f.seq)
            .max()
            .unwrap_or(0)
    }

    /// Files in load order: the base, then the incr files.
    pub fn load_order(&self) -> impl Iterator<Item = &AofFile> {
        self.base.iter().chain(self.incrs.iter())
    }
}

/// File name of base number `seq` (`appendonly.aof.3.base.aof`).
pub fn base_name(filename: &str, seq: u64) -> String {
    format!("{filename}.{seq}.base.aof")
}

/// File name of incr number `seq` (`appendonly.aof.7.incr.aof`).
pub fn incr_name(filename: &str, seq: u64) -> String {
    format!("{filename}.{seq}.incr.aof")
}

/// Fsyncs a directory so a rename or a new file in it survives power loss.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Appends a file name as Redis's manifest writer does: as it is when it is plain
/// printable text, else double-quoted with escapes (`sdscatrepr`), so that a name with a
/// space or a quote reads back as one word.
fn push_name(out: &mut String, name: &str) {
    let plain = |c: char| c.is_ascii_graphic() && c != '"' && c != '\\';
    if !name.is_empty() && name.chars().all(plain) {
        out.push_str(name);
        return;
    }
    crate::cmd::repr_into(out, name.as_bytes());
}

/// Splits a manifest line into words, honouring double quotes and the escapes Redis
/// writes inside them (`push_name`).
fn split_words(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut bytes = line.bytes().peekable();
    loop {
        while bytes.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            bytes.next();
        }
        let Some(&c) = bytes.peek() else {
            return Some(out);
        };
        let mut w = Vec::new();
        if c == b'"' {
            bytes.next();
            loop {
                match bytes.next()? {
                    b'"' => break,
                    b'\\' => match bytes.next()? {
                        b'n' => w.push(b'\n'),
                        b'r' => w.push(b'\r'),
                        b't' => w.push(b'\t'),
                        b'a' => w.push(0x07),
                        b'b' => w.push(0x08),
                        b'x' => {
                            let hex = [bytes.next()?, bytes.next()?];
                            let hex = std::str::from_utf8(&hex).ok()?;
                            w.push(u8::from_str_radix(hex, 16).ok()?);
                        }
                        o => w.push(o),
                    },
                    o => w.push(o),
                }
            }
        } else {
            while let Some(&c) = bytes.peek() {
                if c.is_ascii_whitespace() {
                    break;
                }
                w.push(c);
                bytes.next();
            }
        }
        out.push(String::from_utf8(w).ok()?);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_redis_manifest() {
        let t = "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n";
        let m = Manifest::parse(t).unwrap();
        assert_eq!(m.base.as_ref().unwrap().name, "appendonly.aof.1.base.aof");
        assert_eq!(m.incrs.len(), 2);
        assert_eq!(m.to_text(), t);
        assert_eq!(m.max_seq(), 2);
        let q = Manifest::parse("file \"a b.aof\" seq 1 type i\n").unwrap();
        assert_eq!(q.incrs[0].name, "a b.aof");
    }

    #[test]
    fn odd_names_round_trip() {
        for name in [
            "app only.aof",
            "q\"uote\\d",
            "tab\tnl\n",
            "caf\u{e9}.aof",
            "plain.aof",
        ] {
            let m = Manifest {
                base: Some(AofFile {
                    name: base_name(name, 1),
                    seq: 1,
                    kind: FileKind::Base,
                }),
                ..Default::default()
            };
            let back = Manifest::parse(&m.to_text()).unwrap();
            assert_eq!(
                back.base.unwrap().name,
                base_name(name, 1),
                "{}",
                m.to_text()
            );
        }
        assert!(
            Manifest {
                base: Some(AofFile {
                    name: "a b".into(),
                    seq: 1,
                    kind: FileKind::Base
                }),
                ..Default::default()
            }
            .to_text()
            .starts_with("file \"a b\" seq 1")
        );
    }

    #[test]
    fn rejects_bad_manifests() {
        assert!(Manifest::parse("").is_err());
        assert!(Manifest::parse("file x seq 1\n").is_err());
        assert!(Manifest::parse("file x seq 1 type b\nfile y seq 2 type b\n").is_err());
        assert!(Manifest::parse("file x seq 2 type i\nfile y seq 1 type i\n").is_err());
        assert!(Manifest::parse("file ../x seq 2 type i\n").is_err());
    }
}
