//! A tiny, total format for structured fuzz inputs: fixed-size
//! little-endian integers and length-prefixed byte strings, read from the
//! front of the input. Reading never fails: past the end, integers read as
//! 0 and byte strings as empty, so every input is a valid (if dull)
//! instance. [`Writer`] builds the same format for seeds.

/// Reads structured values from the front of a fuzz input.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    fn take_array<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0u8; N];
        let n = N.min(self.data.len());
        a[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        a
    }

    pub fn u8(&mut self) -> u8 {
        self.take_array::<1>()[0]
    }

    pub fn bool(&mut self) -> bool {
        self.u8() & 1 != 0
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take_array())
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take_array())
    }

    pub fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take_array())
    }

    /// A byte string: a u32 length, then that many bytes (fewer if the
    /// input or `max` ends first).
    pub fn bytes(&mut self, max: usize) -> &'a [u8] {
        let len = (self.u32() as usize).min(max).min(self.data.len());
        let (head, tail) = self.data.split_at(len);
        self.data = tail;
        head
    }

    /// Everything not read yet.
    pub fn rest(self) -> &'a [u8] {
        self.data
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// Builds inputs that [`Reader`] reads back value for value.
#[derive(Clone, Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn u8(mut self, v: u8) -> Self {
        self.buf.push(v);
        self
    }

    pub fn u16(mut self, v: u16) -> Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn u32(mut self, v: u32) -> Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn u64(mut self, v: u64) -> Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn bytes(mut self, b: &[u8]) -> Self {
        let len = u32::try_from(b.len()).expect("seed byte strings are below 4 GiB");
        self.buf.extend_from_slice(&len.to_le_bytes());
        self.buf.extend_from_slice(b);
        self
    }

    pub fn rest(mut self, b: &[u8]) -> Vec<u8> {
        self.buf.extend_from_slice(b);
        self.buf
    }

    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_and_reader_agree() {
        let b = Writer::new()
            .u8(7)
            .u16(0x1234)
            .u32(0xdead_beef)
            .u64(u64::MAX - 1)
            .bytes(b"abc")
            .rest(b"tail");
        let mut r = Reader::new(&b);
        assert_eq!(r.u8(), 7);
        assert_eq!(r.u16(), 0x1234);
        assert_eq!(r.u32(), 0xdead_beef);
        assert_eq!(r.u64(), u64::MAX - 1);
        assert_eq!(r.bytes(100), b"abc");
        assert_eq!(r.rest(), b"tail");
    }

    #[test]
    fn reading_past_the_end_is_total() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u32(), 0x0003_0201);
        assert_eq!(r.u64(), 0);
        assert_eq!(r.bytes(10), b"");
        let mut r = Reader::new(&[200, 0, 0, 0, b'x', b'y']);
        assert_eq!(r.bytes(usize::MAX), b"xy");
        let mut r = Reader::new(&[200, 0, 0, 0, b'x', b'y']);
        assert_eq!(r.bytes(1), b"x");
        assert_eq!(r.rest(), b"y");
    }
}
