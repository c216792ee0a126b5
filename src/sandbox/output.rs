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

/// Finds a marker in a stream that may split it across chunks, passing the
/// bytes before it to one sink and the bytes after it to another.
#[derive(Debug)]
pub struct MarkerScanner {
    marker: Vec<u8>,
    /// Bytes that may be the start of the marker, held back until decided.
    held: Vec<u8>,
    seen: bool,
}

impl MarkerScanner {
    pub fn new(marker: &[u8]) -> Self {
        MarkerScanner { marker: marker.to_vec(), held: Vec::new(), seen: false }
    }

    pub fn push(&mut self, chunk: &[u8], before: &mut impl FnMut(&[u8]), after: &mut impl FnMut(&[u8])) {
        if self.seen {
            after(chunk);
            return;
        }
        let mut data = std::mem::take(&mut self.held);
        data.extend_from_slice(chunk);
        if let Some(at) = find(&data, &self.marker) {
            before(&data[..at]);
            self.seen = true;
            after(&data[at + self.marker.len()..]);
            return;
        }
        // Hold back the longest tail of `data` that is a prefix of the marker.
        let keep = (1..self.marker.len().min(data.len() + 1))
            .rev()
            .find(|length| data.ends_with(&self.marker[..*length]))
            .unwrap_or(0);
        before(&data[..data.len() - keep]);
        self.held = data[data.len() - keep..].to_vec();
    }

    /// Flushes held bytes at the end of the stream.
    pub fn finish(&mut self, before: &mut impl FnMut(&[u8]), after: &mut impl FnMut(&[u8])) {
        let held = std::mem::take(&mut self.held);
        if self.seen {
            after(&held);
        } else {
            before(&held);
        }
    }

    pub fn seen(&self) -> bool {
        self.seen
    }
}

/// Splits stdout into the code's own output and the result the runner writes
/// after a per-run marker.
#[derive(Debug)]
pub struct ResultSplitter {
    scanner: MarkerScanner,
    pub output: CappedBuffer,
    pub result: CappedBuffer,
}

impl ResultSplitter {
    pub fn new(marker: &[u8], output_cap: usize, result_cap: usize) -> Self {
        ResultSplitter {
            scanner: MarkerScanner::new(marker),
            output: CappedBuffer::new(output_cap),
            result: CappedBuffer::new(result_cap),
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        let ResultSplitter { scanner, output, result } = self;
        scanner.push(chunk, &mut |bytes| output.push(bytes), &mut |bytes| result.push(bytes));
    }

    /// Flushes held bytes at the end of the stream.
    pub fn finish(&mut self) {
        let ResultSplitter { scanner, output, result } = self;
        scanner.finish(&mut |bytes| output.push(bytes), &mut |bytes| result.push(bytes));
    }

    /// Returns the result bytes, if the marker was seen.
    pub fn result_bytes(&self) -> Option<&[u8]> {
        self.scanner.seen().then_some(self.result.bytes.as_slice())
    }

    /// Tells whether the output passed its cap.
    pub fn truncated(&self) -> bool {
        self.output.truncated()
    }
}

/// Something a stream's bytes go to.
pub trait Sink {
    fn push(&mut self, chunk: &[u8]);
    fn finish(&mut self) {}
}

impl Sink for CappedBuffer {
    fn push(&mut self, chunk: &[u8]) {
        CappedBuffer::push(self, chunk)
    }
}

impl Sink for ResultSplitter {
    fn push(&mut self, chunk: &[u8]) {
        ResultSplitter::push(self, chunk)
    }

    fn finish(&mut self) {
        ResultSplitter::finish(self)
    }
}

/// One output stream: what the code wrote goes to `inner`; the exit status
/// the runner's init writes after the status marker is kept apart.
#[derive(Debug)]
pub struct StatusStream<S> {
    status: MarkerScanner,
    pub inner: S,
    status_text: CappedBuffer,
}

impl<S: Sink> StatusStream<S> {
    pub fn new(status_marker: &[u8], inner: S) -> Self {
        StatusStream { status: MarkerScanner::new(status_marker), inner, status_text: CappedBuffer::new(64) }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        let StatusStream { status, inner, status_text } = self;
        status.push(chunk, &mut |bytes| inner.push(bytes), &mut |bytes| status_text.push(bytes));
    }

    /// Flushes held bytes at the end of the stream.
    pub fn finish(&mut self) {
        let StatusStream { status, inner, status_text } = self;
        status.finish(&mut |bytes| inner.push(bytes), &mut |bytes| status_text.push(bytes));
        inner.finish();
    }

    /// Returns the exit code the init reported, once its line is complete.
    pub fn reported_exit_code(&self) -> Option<i64> {
        if !self.status.seen() {
            return None;
        }
        let text = std::str::from_utf8(&self.status_text.bytes).ok()?;
        let (code, _) = text.split_once('\n')?;
        code.trim().parse().ok()
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
    fn status_stream_keeps_status_apart_from_output() {
        let mut stream = StatusStream::new(b"\n@@STATUS@@ ", CappedBuffer::new(100));
        stream.push(b"traceback\n@@STA");
        assert_eq!(stream.reported_exit_code(), None);
        stream.push(b"TUS@@ 3");
        assert_eq!(stream.reported_exit_code(), None, "the line is not complete yet");
        stream.push(b"\n");
        stream.finish();
        assert_eq!(stream.reported_exit_code(), Some(3));
        assert_eq!(stream.inner.bytes, b"traceback");
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
