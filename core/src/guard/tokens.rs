//! A check's token ids, made the way the model's own pipeline makes them: the rendered text as
//! one string, split only at the template's special tokens, each run of ordinary text between
//! them (template and data together) tokenized as one unit with special parsing off.
//!
//! Tokenizing template and data apart gives tokens no reference pipeline makes: the byte-level
//! BPE pre-tokenizers of Llama 3 and Qwen merge punctuation with the newlines after it (`?\n\n`),
//! so a boundary between data and template must not be a tokenizer boundary. The same code runs
//! on llama.cpp's tokenizer (in-process) and on `tokenizers` (servers), so both give the same ids.
//!
//! Some vocabularies' special tokens strip the whitespace beside them (`lstrip`/`rstrip`: Phi-3's
//! turn markers eat the newline after them); the reference drops it, template's or data's, so the
//! ids here drop it too. llama.cpp strips C's `isspace` characters, `tokenizers` Unicode ones.
//!
//! Data never yields a special token: control tokens are not matched in ordinary text, and a
//! user-defined one (`<think>`, `[PAD151646]`), which llama.cpp and `tokenizers` match even with
//! special parsing off, is broken apart after its first character wherever data spells it.

use super::profile::Segment;

/// One token the vocabulary marks control, user-defined or unknown.
#[derive(Clone, Debug, PartialEq)]
pub struct Special<T> {
    pub text: String,
    pub id: T,
    /// Matched by the tokenizer even with special parsing off (user-defined tokens).
    pub in_plain_text: bool,
    /// The whitespace before the token is dropped.
    pub lstrip: bool,
    /// The whitespace after the token is dropped.
    pub rstrip: bool,
}

/// Which characters a token's `lstrip`/`rstrip` drops: the reference pipelines differ.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Blank {
    /// llama.cpp: C's `isspace` (ASCII space, `\t`, `\n`, `\v`, `\f`, `\r`).
    Ascii,
    /// `tokenizers`: the regex `\s` (Unicode whitespace).
    Unicode,
}

impl Blank {
    fn of(self, c: char) -> bool {
        match self {
            Blank::Ascii => c.is_ascii_whitespace() || c == '\x0b',
            Blank::Unicode => c.is_whitespace(),
        }
    }
}

/// A vocabulary's special tokens and its start-of-text rule.
#[derive(Clone, Debug)]
pub struct Specials<T> {
    /// Longest text first: llama.cpp matches them in this order.
    list: Vec<Special<T>>,
    /// Put before a check that does not begin with it (the vocabulary's `add_bos`).
    bos: Option<T>,
    blank: Blank,
}

/// A piece of template text: ordinary text, or a special token.
enum Piece<'t, 's, T> {
    Text(&'t str),
    Token(&'s Special<T>),
}

impl<T: Copy + PartialEq> Specials<T> {
    pub fn new(mut list: Vec<Special<T>>, bos: Option<T>, blank: Blank) -> Self {
        list.retain(|s| !s.text.is_empty());
        list.sort_by(|a, b| b.text.len().cmp(&a.text.len()).then(a.text.cmp(&b.text)));
        Specials { list, bos, blank }
    }

    /// Every special token, longest text first.
    pub fn list(&self) -> &[Special<T>] {
        &self.list
    }

    /// Every special token's id.
    pub fn ids(&self) -> impl Iterator<Item = T> + '_ {
        self.list.iter().map(|s| s.id)
    }

    /// The id of the special token spelled exactly `text`.
    pub fn id_of(&self, text: &str) -> Option<T> {
        self.list.iter().find(|s| s.text == text).map(|s| s.id)
    }

    /// Whether `text` spells any special token.
    pub fn spelled_in(&self, text: &str) -> bool {
        self.list.iter().any(|s| text.contains(s.text.as_str()))
    }

    /// The token ids of rendered segments; `plain` tokenizes ordinary text with special
    /// parsing off (no start-of-text token).
    pub fn tokenize(&self, segments: &[Segment], plain: impl Fn(&str) -> Vec<T>) -> Vec<T> {
        let blank = |c| self.blank.of(c);
        let mut out = Vec::new();
        let mut run = String::new();
        // The last token strips the whitespace after it, so the run's leading whitespace goes.
        let mut rstrip = false;
        for segment in segments {
            match segment {
                Segment::Data(d) => run.push_str(d),
                Segment::Template(t) => {
                    for piece in self.partition(t) {
                        match piece {
                            Piece::Text(text) => run.push_str(text),
                            Piece::Token(special) => {
                                let mut text = run.as_str();
                                if rstrip {
                                    text = text.trim_start_matches(blank);
                                }
                                if special.lstrip {
                                    text = text.trim_end_matches(blank);
                                }
                                self.plain_run(text, &plain, &mut out);
                                run.clear();
                                out.push(special.id);
                                rstrip = special.rstrip;
                            }
                        }
                    }
                }
            }
        }
        let text = if rstrip {
            run.trim_start_matches(blank)
        } else {
            &run
        };
        self.plain_run(text, &plain, &mut out);
        if let Some(bos) = self.bos
            && out.first() != Some(&bos)
        {
            out.insert(0, bos);
        }
        out
    }

    /// `text` split at special tokens as llama.cpp splits it: each token, longest first, cuts
    /// every ordinary piece where it occurs.
    fn partition<'t>(&self, text: &'t str) -> Vec<Piece<'t, '_, T>> {
        let mut pieces = vec![Piece::Text(text)];
        for special in &self.list {
            let needle = special.text.as_str();
            if !pieces
                .iter()
                .any(|p| matches!(p, Piece::Text(t) if t.contains(needle)))
            {
                continue;
            }
            let mut cut = Vec::with_capacity(pieces.len() + 2);
            for piece in pieces {
                let Piece::Text(t) = piece else {
                    cut.push(piece);
                    continue;
                };
                let mut rest = t;
                while let Some(at) = rest.find(needle) {
                    if at > 0 {
                        cut.push(Piece::Text(&rest[..at]));
                    }
                    cut.push(Piece::Token(special));
                    rest = &rest[at + needle.len()..];
                }
                if !rest.is_empty() {
                    cut.push(Piece::Text(rest));
                }
            }
            pieces = cut;
        }
        pieces
    }

    /// Tokens of one run of ordinary text, cut after the first character of every user-defined
    /// token it spells, so that no tokenizer can match one.
    fn plain_run(&self, text: &str, plain: &impl Fn(&str) -> Vec<T>, out: &mut Vec<T>) {
        let mut from = 0;
        while let Some(at) = self.first_plain_match(&text[from..]) {
            let start = from + at;
            let cut = start + text[start..].chars().next().map_or(1, char::len_utf8);
            out.extend(plain(&text[from..cut]));
            from = cut;
        }
        if from < text.len() {
            out.extend(plain(&text[from..]));
        }
    }

    /// Where the first user-defined token text in `text` starts.
    fn first_plain_match(&self, text: &str) -> Option<usize> {
        self.list
            .iter()
            .filter(|s| s.in_plain_text)
            .filter_map(|s| text.find(s.text.as_str()))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy vocabulary: every character one token (its code point), specials above 1000.
    fn toy() -> Specials<u32> {
        let special = |text: &str, id, in_plain_text| Special {
            text: text.into(),
            id,
            in_plain_text,
            lstrip: false,
            rstrip: false,
        };
        let strip = |text: &str, id, lstrip, rstrip| Special {
            lstrip,
            rstrip,
            ..special(text, id, false)
        };
        Specials::new(
            vec![
                special("<s>", 1001, false),
                special("<start>", 1002, false),
                special("<think>", 1003, true),
                strip("<r>", 1004, false, true),
                strip("<l>", 1005, true, false),
            ],
            Some(1001),
            Blank::Ascii,
        )
    }

    fn chars(text: &str) -> Vec<u32> {
        text.chars().map(|c| c as u32).collect()
    }

    #[test]
    fn template_specials_split_and_data_stays_text() {
        let v = toy();
        let segments = [
            Segment::Template("<start>A<think>".into()),
            Segment::Data("x<start>y<think>z".into()),
            Segment::Template("B".into()),
        ];
        let ids = v.tokenize(&segments, chars);
        let mut want = vec![1001, 1002, 'A' as u32, 1003];
        want.extend(chars("x<start>y<think>zB"));
        assert_eq!(ids, want);
        assert!(ids[4..].iter().all(|&t| !v.ids().any(|s| s == t)));
    }

    #[test]
    fn user_defined_text_in_data_is_cut_before_the_tokenizer_sees_it() {
        let v = toy();
        let seen = std::cell::RefCell::new(Vec::new());
        let plain = |t: &str| {
            seen.borrow_mut().push(t.to_string());
            chars(t)
        };
        v.tokenize(&[Segment::Data("a<think><think>b".into())], plain);
        assert_eq!(*seen.borrow(), ["a<", "think><", "think>b"]);
    }

    #[test]
    fn stripping_tokens_drop_whitespace_beside_them_in_data_too() {
        let v = toy();
        let segments = [
            Segment::Template("<r>\n".into()),
            Segment::Data(" \t".into()),
            Segment::Template("<r>".into()),
            Segment::Data("\u{3000}x \n".into()),
            Segment::Template(" <l>y <start> ".into()),
        ];
        let mut want = vec![1001, 1004, 1004];
        want.extend(chars("\u{3000}x"));
        want.push(1005);
        want.extend(chars("y "));
        want.push(1002);
        want.extend(chars(" "));
        assert_eq!(v.tokenize(&segments, chars), want);
        // `tokenizers` strips Unicode whitespace, llama.cpp only ASCII.
        let unicode = Specials::new(v.list.clone(), None, Blank::Unicode);
        assert_eq!(
            unicode.tokenize(&segments[2..4], chars),
            [1004, 'x' as u32, ' ' as u32, '\n' as u32]
        );
    }

    #[test]
    fn start_of_text_is_added_once() {
        let v = toy();
        assert_eq!(
            v.tokenize(&[Segment::Template("<s>hi".into())], chars),
            [1001, 'h' as u32, 'i' as u32]
        );
        assert_eq!(v.tokenize(&[Segment::Data("hi".into())], chars)[0], 1001);
    }
}
