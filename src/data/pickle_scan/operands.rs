//! Reading an opcode's operands: fixed-size bytes, declared lengths that must fit in the file, text lines.

use super::{refused, Scan, ScanError};

impl<'a> Scan<'a> {
    /// The next `count` bytes, or a "truncated" error naming `what` was being read.
    pub(super) fn take(&mut self, count: usize, what: &str) -> Result<&'a [u8], ScanError> {
        let end = self.at.checked_add(count).filter(|&end| end <= self.bytes.len());
        let Some(end) = end else {
            return Err(ScanError::Broken(format!(
                "{what} needs {count} bytes at byte {}, but the file ends {} bytes later",
                self.at,
                self.bytes.len() - self.at
            )));
        };
        let bytes: &'a [u8] = self.bytes;
        let taken = &bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    /// A little-endian length of `width` bytes that must fit in what is left of the file.
    pub(super) fn length(&mut self, width: usize, what: &str) -> Result<usize, ScanError> {
        self.declared_length(width, false, what)
    }

    /// Like [`Self::length`]; `signed` for BINSTRING and LONG4, whose 4-byte lengths are signed.
    pub(super) fn declared_length(&mut self, width: usize, signed: bool, what: &str) -> Result<usize, ScanError> {
        let opcode_at = self.at - 1;
        let raw = self.take(width, what)?;
        let mut bytes = [0u8; 8];
        bytes[..width].copy_from_slice(raw);
        let declared = u64::from_le_bytes(bytes);
        // BINSTRING and LONG4 are signed: a negative length reads as a huge one and is refused the same way.
        if signed && declared >= 1 << 31 {
            return Err(ScanError::Broken(format!(
                "{what} at byte {opcode_at} declares a negative length"
            )));
        }
        let left = (self.bytes.len() - self.at) as u64;
        if declared > left {
            return Err(ScanError::Broken(format!(
                "{what} at byte {opcode_at} declares {declared} bytes, but the file ends {left} bytes later"
            )));
        }
        Ok(declared as usize)
    }

    pub(super) fn u32_le(&mut self, what: &str) -> Result<u32, ScanError> {
        let raw = self.take(4, what)?;
        Ok(u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]))
    }

    /// A newline-terminated argument (protocol 0's text opcodes, GLOBAL's names).
    pub(super) fn line(&mut self, what: &str) -> Result<&'a [u8], ScanError> {
        let bytes: &'a [u8] = self.bytes;
        let rest = &bytes[self.at..];
        let Some(end) = rest.iter().position(|&byte| byte == b'\n') else {
            return Err(ScanError::Broken(format!(
                "{what} at byte {} has no end of line before the end of the file",
                self.at
            )));
        };
        self.at += end + 1;
        Ok(&rest[..end])
    }

    /// PUT / GET's decimal memo index.
    pub(super) fn text_number(&mut self, what: &str) -> Result<u32, ScanError> {
        let start = self.at;
        let line = self.line(what)?;
        std::str::from_utf8(line)
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .ok_or_else(|| ScanError::Broken(format!("{what} at byte {start} has no valid index")))
    }

    pub(super) fn check_number_length(&self, len: usize, position: usize) -> Result<(), ScanError> {
        let limit = self.limits.max_number_length;
        if len > limit {
            return Err(refused(
                &format!("numbers of at most {limit} digits or bytes"),
                &format!("one of {len} at byte {position}"),
            ));
        }
        Ok(())
    }
}
