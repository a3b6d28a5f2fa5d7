//! Compressed inputs: gzip, zstd, bzip2 and xz around JSON Lines, JSON and CSV. A file is
//! recognised by its first bytes, not its name, and decompressed as a stream by the kept decoder
//! crates (no temporary copy), so every reader sees plain text and row errors keep their lines.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;

/// A compression format that an import reads through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

/// Each format's magic bytes, as its specification gives them.
const MAGIC: [(Compression, &[u8]); 4] = [
    (Compression::Gzip, b"\x1f\x8b"),
    (Compression::Zstd, b"\x28\xb5\x2f\xfd"),
    (Compression::Bzip2, b"BZh"),
    (Compression::Xz, b"\xfd7zXZ\x00"),
];

/// File name endings that only say "compressed" (the format itself is read from the bytes).
const EXTENSIONS: [&str; 7] = [".gz", ".gzip", ".zst", ".zstd", ".bz2", ".xz", ".lzma"];

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
            Compression::Xz => "xz",
        }
    }

    fn detect(head: &[u8]) -> Option<Compression> {
        MAGIC
            .iter()
            .find(|(_, magic)| head.starts_with(magic))
            .map(|(c, _)| *c)
    }
}

/// `x.jsonl.gz` → `x.jsonl`: the name a compressed file's content would have uncompressed.
pub fn strip_extension(name: &str) -> &str {
    EXTENSIONS
        .iter()
        .find_map(|ext| {
            let cut = name.len().checked_sub(ext.len())?;
            (name.is_char_boundary(cut) && name[cut..].eq_ignore_ascii_case(ext))
                .then(|| &name[..cut])
        })
        .unwrap_or(name)
}

/// An opened input: its content as plain text, and how far into the file itself reading is.
pub struct Input {
    pub reader: Box<dyn BufRead>,
    pub compression: Option<Compression>,
    read_from_disk: Rc<Cell<u64>>,
}

impl Input {
    /// Progress in bytes of the file on disk (what an import's total counts), given how many
    /// bytes of content have been consumed.
    pub fn progress(&self, content_consumed: u64) -> u64 {
        match self.compression {
            None => content_consumed,
            Some(_) => self.read_from_disk.get(),
        }
    }
}

/// The compression of the file at `path`, from its first bytes.
pub fn detect(path: &Path) -> io::Result<Option<Compression>> {
    let mut head = Vec::with_capacity(8);
    File::open(path)?.take(8).read_to_end(&mut head)?;
    Ok(Compression::detect(&head))
}

/// Opens `path` for reading as plain text, decompressing it when its first bytes say so.
pub fn open(path: &Path) -> io::Result<Input> {
    let read_from_disk = Rc::new(Cell::new(0));
    let mut disk = BufReader::with_capacity(
        1 << 20,
        Counting {
            inner: File::open(path)?,
            count: read_from_disk.clone(),
        },
    );
    let compression = Compression::detect(disk.fill_buf()?);
    let reader: Box<dyn BufRead> = match compression {
        None => Box::new(disk),
        Some(c) => Box::new(BufReader::with_capacity(
            1 << 20,
            Labelled {
                inner: decoder(c, disk)?,
                compression: c,
            },
        )),
    };
    Ok(Input {
        reader,
        compression,
        read_from_disk,
    })
}

/// Each format's streaming decoder; all of them read every member or frame of a file, as the
/// command-line tools do (`cat a.gz b.gz`, bgzip, pzstd, pbzip2 and `xz -T` write several).
fn decoder<R: BufRead + 'static>(compression: Compression, disk: R) -> io::Result<Box<dyn Read>> {
    Ok(match compression {
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(disk)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(disk)?),
        Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(disk)),
        Compression::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(disk)),
    })
}

/// Counts the bytes read from the file, for progress.
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Says which decoder failed: a decoder's own words ("invalid gzip header", "corrupt deflate
/// stream") do not say that the file is compressed.
struct Labelled<R> {
    inner: R,
    compression: Compression,
}

impl<R: Read> Read for Labelled<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("its {} data is corrupt: {e}", self.compression.name()),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn compressed_extensions_are_stripped_once() {
        assert_eq!(strip_extension("a.jsonl.gz"), "a.jsonl");
        assert_eq!(strip_extension("a.CSV.ZST"), "a.CSV");
        assert_eq!(strip_extension("a.json"), "a.json");
        assert_eq!(strip_extension("ä.xz"), "ä");
    }

    #[test]
    fn gzip_is_read_through_by_its_magic_and_corruption_is_named() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"{\"a\": 1}\n").unwrap();
        let bytes = gz.finish().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-extension");
        std::fs::write(&path, &bytes).unwrap();
        let mut input = open(&path).unwrap();
        let mut text = String::new();
        input.reader.read_to_string(&mut text).unwrap();
        assert_eq!(
            (input.compression, text.as_str()),
            (Some(Compression::Gzip), "{\"a\": 1}\n")
        );
        assert_eq!(input.progress(0), bytes.len() as u64);

        let mut broken = bytes.clone();
        let middle = broken.len() / 2;
        broken[middle] ^= 0xff;
        std::fs::write(&path, &broken).unwrap();
        let err = open(&path)
            .unwrap()
            .reader
            .read_to_string(&mut String::new())
            .unwrap_err();
        assert!(err.to_string().contains("gzip data is corrupt"), "{err}");
    }
}
