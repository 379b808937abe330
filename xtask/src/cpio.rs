//! A small writer for the initramfs format (cpio "newc"), so images can hold
//! device nodes without root and are byte-for-byte reproducible.

use std::io::Write;

use anyhow::Result;
use flate2::write::GzEncoder;
use flate2::Compression;

/// An initramfs under construction; entries keep insertion order.
#[derive(Default)]
pub struct Archive {
    data: Vec<u8>,
    ino: u32,
}

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;

impl Archive {
    pub fn dir(&mut self, path: &str) {
        self.entry(path, S_IFDIR | 0o755, 2, (0, 0), &[]);
    }

    pub fn file(&mut self, path: &str, mode: u32, contents: &[u8]) {
        self.entry(path, S_IFREG | mode, 1, (0, 0), contents);
    }

    pub fn symlink(&mut self, path: &str, target: &str) {
        self.entry(path, S_IFLNK | 0o777, 1, (0, 0), target.as_bytes());
    }

    pub fn char_dev(&mut self, path: &str, mode: u32, major: u32, minor: u32) {
        self.entry(path, S_IFCHR | mode, 1, (major, minor), &[]);
    }

    fn entry(&mut self, path: &str, mode: u32, nlink: u32, rdev: (u32, u32), body: &[u8]) {
        self.ino += 1;
        let name = path.trim_start_matches('/');
        let fields = [
            self.ino,
            mode,
            0, // uid
            0, // gid
            nlink,
            0, // mtime: fixed, for reproducible images
            body.len() as u32,
            0, // dev major
            0, // dev minor
            rdev.0,
            rdev.1,
            name.len() as u32 + 1,
            0, // check
        ];
        self.data.extend_from_slice(b"070701");
        for f in fields {
            self.data.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.data.extend_from_slice(name.as_bytes());
        self.data.push(0);
        self.pad();
        self.data.extend_from_slice(body);
        self.pad();
    }

    fn pad(&mut self) {
        self.data.resize(self.data.len().next_multiple_of(4), 0);
    }

    /// Closes the archive and compresses it with gzip.
    pub fn finish_gz(mut self) -> Result<Vec<u8>> {
        self.ino = 0;
        self.entry("TRAILER!!!", 0, 1, (0, 0), &[]);
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(&self.data)?;
        Ok(gz.finish()?)
    }
}
