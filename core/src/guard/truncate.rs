//! Shortening a text that does not fit the model's context: the middle goes (a prompt's ask
//! and an answer's conclusion tend to sit at the ends), cut at grapheme boundaries so no
//! character or emoji is split, and a visible marker says that text is missing.

use unicode_segmentation::UnicodeSegmentation;

use super::profile::Segment;

pub const MARKER: &str = " […] ";

/// `text` in at most `max_bytes` bytes (marker included), keeping its start and end.
pub fn shorten_middle(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_string();
    }
    let keep = max_bytes.saturating_sub(MARKER.len());
    let (head_budget, tail_budget) = (keep.div_ceil(2), keep / 2);
    let mut head_end = 0;
    for (i, g) in text.grapheme_indices(true) {
        if i + g.len() > head_budget {
            break;
        }
        head_end = i + g.len();
    }
    let mut tail_start = text.len();
    for (i, _) in text.grapheme_indices(true).rev() {
        if text.len() - i > tail_budget || i < head_end {
            break;
        }
        tail_start = i;
    }
    format!("{}{MARKER}{}", &text[..head_end], &text[tail_start..])
}

/// Tokens of rendered segments with the longest data segment shortened in the middle until
/// they fit `limit`, and whether anything was cut. Works on any tokenizer (llama.cpp's for
/// local models, a `tokenizer.json` for servers), so both backends cut texts the same way.
pub fn fit_tokens<T>(
    segments: &[Segment],
    limit: usize,
    tokenize: impl Fn(&[Segment]) -> Vec<T>,
) -> (Vec<T>, bool) {
    let (_, tokens, truncated) = fit_segments(segments, limit, tokenize);
    (tokens, truncated)
}

/// [`fit_tokens`], returning the shortened segments too (what a chat message sends).
pub fn fit_segments<T>(
    segments: &[Segment],
    limit: usize,
    tokenize: impl Fn(&[Segment]) -> Vec<T>,
) -> (Vec<Segment>, Vec<T>, bool) {
    let mut segments = segments.to_vec();
    let mut tokens = tokenize(&segments);
    let mut truncated = false;
    for _ in 0..8 {
        if tokens.len() <= limit {
            break;
        }
        let excess = tokens.len() - limit;
        let Some(longest) = (0..segments.len())
            .filter(|&i| matches!(segments[i], Segment::Data(_)))
            .max_by_key(|&i| segments[i].text().len())
        else {
            break;
        };
        let text = segments[longest].text().to_string();
        let data_tokens = tokenize(std::slice::from_ref(&segments[longest]))
            .len()
            .max(1);
        // Remove a little more than the excess share of characters, plus room for the marker.
        let cut = (text.len() * (excess + 8) / data_tokens).min(text.len()) + 16;
        segments[longest] = Segment::Data(shorten_middle(&text, text.len().saturating_sub(cut)));
        truncated = true;
        tokens = tokenize(&segments);
    }
    (segments, tokens, truncated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_both_ends_and_whole_graphemes() {
        let text = format!("{}{}", "👩‍👩‍👧‍👦é̃".repeat(50), "x".repeat(10));
        let short = shorten_middle(&text, 120);
        assert!(short.len() <= 120, "{}", short.len());
        assert!(short.contains(MARKER));
        assert!(short.starts_with("👩‍👩‍👧‍👦"));
        assert!(short.ends_with("xxxxxxxxxx"));
        for g in short.replace(MARKER, "").graphemes(true) {
            assert!(text.contains(g), "split grapheme {g:?}");
        }
        assert_eq!(shorten_middle("short", 100), "short");
    }
}
