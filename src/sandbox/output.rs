//! Capture of a container's output streams with a cap, applied while they stream.

/// Bytes of one stream, kept up to a cap; the rest is counted, not stored.
#[derive(Debug, Default)]
pub struct CappedBuffer {
    pub bytes: Vec<u8>,
    pub cap: usize,
    pub dropped: usize,
}

impl CappedBuffer {
    pub fn new(cap: usize) -> Self {
        CappedBuffer { bytes: Vec::new(), cap, dropped: 0 }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        let room = self.cap.saturating_sub(self.bytes.len());
        let kept = room.min(chunk.len());
        self.bytes.extend_from_slice(&chunk[..kept]);
        self.dropped += chunk.len() - kept;
    }

    pub fn truncated(&self) -> bool {
        self.dropped > 0
    }
}

/// Splits stdout into the code's own output and the result the runner writes
/// after a per-run marker. The marker may arrive split across chunks.
#[derive(Debug)]
pub struct ResultSplitter {
    marker: Vec<u8>,
    /// Bytes that may be the start of the marker, held back until decided.
    held: Vec<u8>,
    in_result: bool,
    pub output: CappedBuffer,
    pub result: CappedBuffer,
}

impl ResultSplitter {
    pub fn new(marker: &[u8], output_cap: usize, result_cap: usize) -> Self {
        ResultSplitter {
            marker: marker.to_vec(),
            held: Vec::new(),
            in_result: false,
            output: CappedBuffer::new(output_cap),
            result: CappedBuffer::new(result_cap),
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        if self.in_result {
            self.result.push(chunk);
            return;
        }
        let mut data = std::mem::take(&mut self.held);
        data.extend_from_slice(chunk);
        if let Some(at) = find(&data, &self.marker) {
            self.output.push(&data[..at]);
            self.in_result = true;
            self.result.push(&data[at + self.marker.len()..]);
            return;
        }
        // Hold back the longest tail of `data` that is a prefix of the marker.
        let keep = (1..self.marker.len().min(data.len() + 1))
            .rev()
            .find(|length| data.ends_with(&self.marker[..*length]))
            .unwrap_or(0);
        self.output.push(&data[..data.len() - keep]);
        self.held = data[data.len() - keep..].to_vec();
    }

    /// Flushes held bytes at the end of the stream.
    pub fn finish(&mut self) {
        let held = std::mem::take(&mut self.held);
        if self.in_result {
            self.result.push(&held);
        } else {
            self.output.push(&held);
        }
    }

    /// Returns the result bytes, if the marker was seen.
    pub fn result_bytes(&self) -> Option<&[u8]> {
        self.in_result.then_some(self.result.bytes.as_slice())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_buffer_counts_what_it_drops() {
        let mut buffer = CappedBuffer::new(4);
        buffer.push(b"abc");
        buffer.push(b"defg");
        assert_eq!(buffer.bytes, b"abcd");
        assert_eq!(buffer.dropped, 3);
        assert!(buffer.truncated());
    }

    #[test]
    fn splitter_finds_a_marker_split_across_chunks() {
        let marker = b"\n@@MARK@@\n";
        for split in 0..20 {
            let whole = b"hello\n@@MARK@@\n{\"a\": 1}";
            let split = split.min(whole.len());
            let mut splitter = ResultSplitter::new(marker, 100, 100);
            splitter.push(&whole[..split]);
            splitter.push(&whole[split..]);
            splitter.finish();
            assert_eq!(splitter.output.bytes, b"hello", "split at {split}");
            assert_eq!(splitter.result_bytes(), Some(&b"{\"a\": 1}"[..]), "split at {split}");
        }
    }

    #[test]
    fn splitter_without_marker_keeps_all_output() {
        let mut splitter = ResultSplitter::new(b"\n@@MARK@@\n", 100, 100);
        splitter.push(b"text ending in \n@@MA");
        splitter.finish();
        assert_eq!(splitter.output.bytes, b"text ending in \n@@MA");
        assert_eq!(splitter.result_bytes(), None);
    }
}
