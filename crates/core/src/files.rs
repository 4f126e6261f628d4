//! Reading the files canary takes as input, each under a size cap. A model, PICT file, run
//! file, plan, regression or snapshot is text a person or canary wrote, and a journal grows by
//! a few kilobytes a step: none is gigabytes, so `--model /dev/zero` fails with the file and
//! the cap named instead of growing without bound.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

/// Cap of a model, PICT file, run file, plan, regression, snapshot or safety-backup record.
pub const INPUT_CAP: u64 = 16 << 20;
/// Cap of a journal read for a report or a resume.
pub const JOURNAL_CAP: u64 = 256 << 20;

/// Reads at most `cap` bytes of a file, through a reader that fails past the cap.
pub struct Capped<R> {
    inner: io::Take<R>,
    read: u64,
    cap: u64,
    name: String,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.cap {
            return Err(too_large(&self.name, self.cap));
        }
        Ok(n)
    }
}

fn too_large(name: &str, cap: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!(
            "{name} is larger than {}, the most canary reads from this kind of input file",
            if cap >= 1 << 20 {
                format!("{} MiB", cap >> 20)
            } else {
                format!("{cap} bytes")
            }
        ),
    )
}

/// Opens a file for reading under `cap` bytes (buffered, for line-by-line readers).
pub fn open_capped(path: &Path, cap: u64) -> io::Result<BufReader<Capped<File>>> {
    let file = File::open(path)?;
    Ok(BufReader::new(Capped {
        // One byte past the cap tells a file of exactly `cap` bytes from a larger one.
        inner: file.take(cap + 1),
        read: 0,
        cap,
        name: path.display().to_string(),
    }))
}

/// Reads a whole text file of at most `cap` bytes.
pub fn read_capped(path: &Path, cap: u64) -> io::Result<String> {
    let mut text = String::new();
    open_capped(path, cap)?.read_to_string(&mut text)?;
    Ok(text)
}

/// Reads a whole file of at most `cap` bytes.
pub fn read_capped_bytes(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    open_capped(path, cap)?.read_to_end(&mut out)?;
    Ok(out)
}

/// Writes `bytes` to `path` as a private file: created with mode 0600 (never readable by
/// others, not even for a moment), through a temp file beside it renamed into place, so a
/// reader sees the old file or the whole new one.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    // The umask cannot widen 0600, but an inherited ACL could: say it once more.
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_up_to_the_cap_reads_and_one_past_it_fails_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "abcd").unwrap();
        assert_eq!(read_capped(&p, 4).unwrap(), "abcd");
        let e = read_capped(&p, 3).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        assert!(e.to_string().contains(&p.display().to_string()), "{e}");
    }

    #[test]
    fn an_endless_file_stops_at_the_cap() {
        let e = read_capped_bytes(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
    }
}
