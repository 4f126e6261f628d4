//! Constraint expressions: PICT's constraint language, shared by PICT model files and the
//! `rule`/`when` strings of `strategies/*.toml`.
//!
//! Grammar (keywords are case-insensitive):
//!
//! ```text
//! statement := "IF" pred "THEN" pred ["ELSE" pred] | pred
//! pred      := conj { "OR" conj }
//! conj      := unary { "AND" unary }
//! unary     := "NOT" unary | "(" pred ")" | relation
//! relation  := "[" name "]" ( op literal | op "[" name "]" | ["NOT"] "IN" "{" literal {"," literal} "}"
//!                           | ["NOT"] "LIKE" string )
//! op        := "=" | "<>" | "<" | "<=" | ">" | ">="
//! literal   := "\"" text "\"" | number | "true" | "false"
//! ```
//!
//! Parsing yields an [`Ast`] with axis names; [`resolve`] turns it into an [`Expr`] over axis
//! indices in which every relation is a precomputed table of value indices, so evaluation is a
//! lookup. Evaluation is three-valued so the planner can prune partial rows.

use std::fmt;

/// A literal on the right-hand side of a relation.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A quoted string.
    Text(String),
    /// An unquoted number.
    Number(f64),
    /// An unquoted `true` or `false`.
    Bool(bool),
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Text(s) => write!(f, "\"{s}\""),
            Literal::Number(n) => write!(f, "{n}"),
            Literal::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// An unresolved expression, as parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Ast {
    /// `[axis] op literal`
    Cmp(String, Op, Literal),
    /// `[axis] op [axis]`
    CmpAxis(String, Op, String),
    /// `[axis] IN {..}`
    In(String, Vec<Literal>),
    /// `[axis] LIKE "pattern"` with `*` and `?` wildcards.
    Like(String, String),
    Not(Box<Ast>),
    And(Box<Ast>, Box<Ast>),
    Or(Box<Ast>, Box<Ast>),
}

/// A parse error with the byte offset into the expression text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} (at column {})", .offset + 1)]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Axis(String),
    Str(String),
    Num(f64),
    Word(String),
    Op(Op),
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    Semi,
}

/// The tokens that are one character whatever follows them.
fn one_char_token(c: char) -> Option<Tok> {
    Some(match c {
        '(' => Tok::LParen,
        ')' => Tok::RParen,
        '{' => Tok::LBrace,
        '}' => Tok::RBrace,
        ',' => Tok::Comma,
        ';' => Tok::Semi,
        '=' => Tok::Op(Op::Eq),
        _ => return None,
    })
}

fn tokenize(text: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |offset: usize, message: String| ParseError { offset, message };
    while i < bytes.len() {
        let c = bytes[i] as char;
        let start = i;
        if let Some(tok) = one_char_token(c) {
            out.push((start, tok));
            i += 1;
            continue;
        }
        match c {
            c if c.is_whitespace() => i += 1,
            '[' => {
                let end = text[i + 1..]
                    .find(']')
                    .ok_or_else(|| err(start, "unclosed '[' in axis name".into()))?;
                let name = text[i + 1..i + 1 + end].trim().to_string();
                if name.is_empty() {
                    return Err(err(start, "empty axis name '[]'".into()));
                }
                out.push((start, Tok::Axis(name)));
                i += end + 2;
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match text[i..].chars().next() {
                        None => return Err(err(start, "unclosed string literal".into())),
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some('\\') if text[i + 1..].starts_with('"') => {
                            s.push('"');
                            i += 2;
                        }
                        Some(ch) => {
                            s.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                out.push((start, Tok::Str(s)));
            }
            '<' | '>' => {
                let next = bytes.get(i + 1).map(|b| *b as char);
                let (op, len) = match (c, next) {
                    ('<', Some('>')) => (Op::Ne, 2),
                    ('<', Some('=')) => (Op::Le, 2),
                    ('<', _) => (Op::Lt, 1),
                    ('>', Some('=')) => (Op::Ge, 2),
                    _ => (Op::Gt, 1),
                };
                out.push((start, Tok::Op(op)));
                i += len;
            }
            c if c.is_ascii_digit() || c == '-' || c == '.' => {
                let end = text[i..]
                    .find(|ch: char| !(ch.is_ascii_digit() || ch == '.' || ch == '-' || ch == 'e'))
                    .map_or(text.len(), |e| i + e);
                let n: f64 = text[i..end]
                    .parse()
                    .map_err(|_| err(start, format!("bad number '{}'", &text[i..end])))?;
                out.push((start, Tok::Num(n)));
                i = end;
            }
            c if c.is_ascii_alphabetic() => {
                let end = text[i..]
                    .find(|ch: char| !ch.is_ascii_alphanumeric() && ch != '_')
                    .map_or(text.len(), |e| i + e);
                out.push((start, Tok::Word(text[i..end].to_ascii_uppercase())));
                i = end;
            }
            other => return Err(err(start, format!("unexpected character '{other}'"))),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }
    fn offset(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(o, _)| *o)
    }
    fn err<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            offset: self.offset(),
            message: message.into(),
        })
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x == w)
    }
    fn bump(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|(_, t)| t.clone());
        self.pos += 1;
        t
    }

    fn statement(&mut self) -> Result<Ast, ParseError> {
        if self.is_word("IF") {
            self.bump();
            let cond = self.pred()?;
            if !self.is_word("THEN") {
                return self.err("expected THEN after the IF condition");
            }
            self.bump();
            let then = self.pred()?;
            let ast = if self.is_word("ELSE") {
                self.bump();
                let otherwise = self.pred()?;
                // (c AND t) OR (NOT c AND e)
                Ast::Or(
                    Box::new(Ast::And(Box::new(cond.clone()), Box::new(then))),
                    Box::new(Ast::And(
                        Box::new(Ast::Not(Box::new(cond))),
                        Box::new(otherwise),
                    )),
                )
            } else {
                Ast::Or(Box::new(Ast::Not(Box::new(cond))), Box::new(then))
            };
            Ok(ast)
        } else {
            self.pred()
        }
    }

    fn pred(&mut self) -> Result<Ast, ParseError> {
        self.left_assoc("OR", Self::conj, Ast::Or)
    }

    fn conj(&mut self) -> Result<Ast, ParseError> {
        self.left_assoc("AND", Self::unary, Ast::And)
    }

    /// `operand (word operand)*`, grouped from the left.
    fn left_assoc(
        &mut self,
        word: &str,
        operand: fn(&mut Self) -> Result<Ast, ParseError>,
        join: fn(Box<Ast>, Box<Ast>) -> Ast,
    ) -> Result<Ast, ParseError> {
        let mut left = operand(self)?;
        while self.is_word(word) {
            self.bump();
            let right = operand(self)?;
            left = join(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Ast, ParseError> {
        match self.peek() {
            Some(Tok::Word(w)) if w == "NOT" => {
                self.bump();
                Ok(Ast::Not(Box::new(self.unary()?)))
            }
            Some(Tok::LParen) => {
                self.bump();
                let inner = self.pred()?;
                if self.peek() != Some(&Tok::RParen) {
                    return self.err("expected ')'");
                }
                self.bump();
                Ok(inner)
            }
            Some(Tok::Axis(_)) => self.relation(),
            Some(_) => self.err("expected '[axis]', NOT or '('"),
            None => self.err("expression ends early: expected '[axis]'"),
        }
    }

    fn literal(&mut self) -> Result<Literal, ParseError> {
        match self.peek().cloned() {
            Some(Tok::Str(s)) => {
                self.bump();
                Ok(Literal::Text(s))
            }
            Some(Tok::Num(n)) => {
                self.bump();
                Ok(Literal::Number(n))
            }
            Some(Tok::Word(w)) if w == "TRUE" || w == "FALSE" => {
                self.bump();
                Ok(Literal::Bool(w == "TRUE"))
            }
            _ => self.err("expected a value: a quoted string, a number, true or false"),
        }
    }

    fn relation(&mut self) -> Result<Ast, ParseError> {
        let Some(Tok::Axis(name)) = self.bump() else {
            unreachable!("relation() is only called on an axis token")
        };
        let negated = if self.is_word("NOT") {
            self.bump();
            true
        } else {
            false
        };
        let ast = match self.peek().cloned() {
            Some(Tok::Word(w)) if w == "IN" => {
                self.bump();
                if self.peek() != Some(&Tok::LBrace) {
                    return self.err("expected '{' after IN");
                }
                self.bump();
                let mut set = vec![self.literal()?];
                while self.peek() == Some(&Tok::Comma) {
                    self.bump();
                    set.push(self.literal()?);
                }
                if self.peek() != Some(&Tok::RBrace) {
                    return self.err("expected '}' to close the IN set");
                }
                self.bump();
                Ast::In(name, set)
            }
            Some(Tok::Word(w)) if w == "LIKE" => {
                self.bump();
                match self.bump() {
                    Some(Tok::Str(p)) => Ast::Like(name, p),
                    _ => return self.err("expected a quoted pattern after LIKE"),
                }
            }
            Some(Tok::Op(op)) if !negated => {
                self.bump();
                if let Some(Tok::Axis(other)) = self.peek().cloned() {
                    self.bump();
                    Ast::CmpAxis(name, op, other)
                } else {
                    Ast::Cmp(name, op, self.literal()?)
                }
            }
            _ => {
                return self.err(format!(
                    "expected an operator (=, <>, <, <=, >, >=, IN, LIKE) after [{name}]"
                ));
            }
        };
        Ok(if negated {
            Ast::Not(Box::new(ast))
        } else {
            ast
        })
    }
}

/// Parses one statement. A trailing `;` is allowed.
pub fn parse(text: &str) -> Result<Ast, ParseError> {
    let toks = tokenize(text)?;
    let mut p = Parser {
        toks,
        pos: 0,
        end: text.len(),
    };
    let ast = p.statement()?;
    if p.peek() == Some(&Tok::Semi) {
        p.bump();
    }
    if p.pos < p.toks.len() {
        return p.err("unexpected text after the end of the expression");
    }
    Ok(ast)
}

/// Splits a block of PICT constraints into statements at `;` outside strings, keeping each
/// statement's byte offset in `text`.
pub fn split_statements(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_str = false;
    let mut in_axis = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' if !in_axis => in_str = !in_str,
            '[' if !in_str => in_axis = true,
            ']' if !in_str => in_axis = false,
            ';' if !in_str && !in_axis => {
                out.push((start, &text[start..=i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    if !text[start..].trim().is_empty() {
        out.push((start, &text[start..]));
    }
    out.into_iter()
        .filter(|(_, s)| !s.trim().trim_end_matches(';').trim().is_empty())
        .collect()
}

/// How axis values are seen by [`resolve`]: each value's label and, when it is one, its number.
pub trait AxisCatalog {
    /// Index of the axis with this name.
    fn axis_index(&self, name: &str) -> Option<usize>;
    /// Names of all axes, for error messages.
    fn axis_names(&self) -> Vec<String>;
    /// Labels of the axis' values in order.
    fn labels(&self, axis: usize) -> Vec<String>;
}

/// Three-valued truth, for partial rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    True,
    False,
    Unknown,
}

impl Truth {
    fn not(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }
}

/// The marker for "no value chosen yet" in a partial row.
pub const UNSET: u16 = u16::MAX;

/// A resolved expression over axis indices.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// The axis' value is one of the flagged indices.
    In(usize, Vec<bool>),
    /// `table[a][b]` holds for the pair of value indices.
    Rel(usize, usize, Vec<Vec<bool>>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

impl Expr {
    /// Evaluates on a complete row.
    pub fn holds(&self, row: &[u16]) -> bool {
        match self {
            Expr::In(a, set) => set[row[*a] as usize],
            Expr::Rel(a, b, t) => t[row[*a] as usize][row[*b] as usize],
            Expr::Not(e) => !e.holds(row),
            Expr::And(l, r) => l.holds(row) && r.holds(row),
            Expr::Or(l, r) => l.holds(row) || r.holds(row),
        }
    }

    /// Evaluates on a partial row where [`UNSET`] marks a free axis.
    pub fn eval_partial(&self, row: &[u16]) -> Truth {
        match self {
            Expr::In(a, set) => match row[*a] {
                UNSET => Truth::Unknown,
                v => bool_truth(set[v as usize]),
            },
            Expr::Rel(a, b, t) => match (row[*a], row[*b]) {
                (UNSET, _) | (_, UNSET) => Truth::Unknown,
                (x, y) => bool_truth(t[x as usize][y as usize]),
            },
            Expr::Not(e) => e.eval_partial(row).not(),
            Expr::And(l, r) => match (l.eval_partial(row), r.eval_partial(row)) {
                (Truth::False, _) | (_, Truth::False) => Truth::False,
                (Truth::True, Truth::True) => Truth::True,
                _ => Truth::Unknown,
            },
            Expr::Or(l, r) => match (l.eval_partial(row), r.eval_partial(row)) {
                (Truth::True, _) | (_, Truth::True) => Truth::True,
                (Truth::False, Truth::False) => Truth::False,
                _ => Truth::Unknown,
            },
        }
    }

    /// The axes this expression reads, sorted and without repeats.
    pub fn axes(&self) -> Vec<usize> {
        fn walk(e: &Expr, out: &mut Vec<usize>) {
            match e {
                Expr::In(a, _) => out.push(*a),
                Expr::Rel(a, b, _) => out.extend([*a, *b]),
                Expr::Not(x) => walk(x, out),
                Expr::And(l, r) | Expr::Or(l, r) => {
                    walk(l, out);
                    walk(r, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out);
        out.sort_unstable();
        out.dedup();
        out
    }
}

fn bool_truth(b: bool) -> Truth {
    if b { Truth::True } else { Truth::False }
}

/// Options for matching literals against value labels.
#[derive(Debug, Clone, Copy, Default)]
pub struct MatchOptions {
    /// PICT compares strings without regard to case by default.
    pub case_insensitive: bool,
}

fn literal_matches(lit: &Literal, label: &str, opts: MatchOptions) -> Option<bool> {
    match lit {
        Literal::Text(s) => Some(if opts.case_insensitive {
            s.eq_ignore_ascii_case(label)
        } else {
            s == label
        }),
        Literal::Bool(b) => Some(label == if *b { "true" } else { "false" }),
        Literal::Number(n) => label.parse::<f64>().ok().map(|v| v == *n),
    }
}

fn compare(op: Op, ord: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Op::Eq => ord == Equal,
        Op::Ne => ord != Equal,
        Op::Lt => ord == Less,
        Op::Le => ord != Greater,
        Op::Gt => ord == Greater,
        Op::Ge => ord != Less,
    }
}

fn order_labels(a: &str, b: &str, opts: MatchOptions) -> std::cmp::Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        _ if opts.case_insensitive => a.to_ascii_lowercase().cmp(&b.to_ascii_lowercase()),
        _ => a.cmp(b),
    }
}

fn like(pattern: &str, text: &str, opts: MatchOptions) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if opts.case_insensitive {
        (
            pattern.to_lowercase().chars().collect(),
            text.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    // Classic wildcard match with backtracking on the last '*'.
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Resolves names and literals against a catalogue of axes.
pub fn resolve<C: AxisCatalog + ?Sized>(
    ast: &Ast,
    cat: &C,
    opts: MatchOptions,
) -> Result<Expr, String> {
    let axis = |name: &str| {
        cat.axis_index(name).ok_or_else(|| {
            let known = cat.axis_names();
            format!("unknown axis [{name}]; known axes: {}", known.join(", "))
        })
    };
    let value_set = |a: usize, name: &str, lits: &[Literal]| -> Result<Vec<bool>, String> {
        let labels = cat.labels(a);
        let mut set = vec![false; labels.len()];
        for lit in lits {
            let mut any = false;
            for (i, l) in labels.iter().enumerate() {
                if literal_matches(lit, l, opts) == Some(true) {
                    set[i] = true;
                    any = true;
                }
            }
            if !any {
                return Err(format!(
                    "[{name}] has no value {lit}; its values are: {}",
                    labels.join(", ")
                ));
            }
        }
        Ok(set)
    };
    Ok(match ast {
        Ast::Cmp(name, op, lit) => {
            let a = axis(name)?;
            match op {
                Op::Eq => Expr::In(a, value_set(a, name, std::slice::from_ref(lit))?),
                Op::Ne => Expr::Not(Box::new(Expr::In(
                    a,
                    value_set(a, name, std::slice::from_ref(lit))?,
                ))),
                _ => {
                    let rhs = match lit {
                        Literal::Number(n) => n.to_string(),
                        Literal::Text(s) => s.clone(),
                        Literal::Bool(b) => b.to_string(),
                    };
                    let labels = cat.labels(a);
                    let numeric = matches!(lit, Literal::Number(_));
                    if numeric && labels.iter().any(|l| l.parse::<f64>().is_err()) {
                        return Err(format!(
                            "[{name}] is compared with a number but not all its values are numbers"
                        ));
                    }
                    Expr::In(
                        a,
                        labels
                            .iter()
                            .map(|l| compare(*op, order_labels(l, &rhs, opts)))
                            .collect(),
                    )
                }
            }
        }
        Ast::CmpAxis(left, op, right) => {
            let (a, b) = (axis(left)?, axis(right)?);
            let (la, lb) = (cat.labels(a), cat.labels(b));
            let table = la
                .iter()
                .map(|x| {
                    lb.iter()
                        .map(|y| compare(*op, order_labels(x, y, opts)))
                        .collect()
                })
                .collect();
            Expr::Rel(a, b, table)
        }
        Ast::In(name, lits) => {
            let a = axis(name)?;
            Expr::In(a, value_set(a, name, lits)?)
        }
        Ast::Like(name, pattern) => {
            let a = axis(name)?;
            Expr::In(
                a,
                cat.labels(a)
                    .iter()
                    .map(|l| like(pattern, l, opts))
                    .collect(),
            )
        }
        Ast::Not(e) => Expr::Not(Box::new(resolve(e, cat, opts)?)),
        Ast::And(l, r) => Expr::And(
            Box::new(resolve(l, cat, opts)?),
            Box::new(resolve(r, cat, opts)?),
        ),
        Ast::Or(l, r) => Expr::Or(
            Box::new(resolve(l, cat, opts)?),
            Box::new(resolve(r, cat, opts)?),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Cat(Vec<(&'static str, Vec<&'static str>)>);
    impl AxisCatalog for Cat {
        fn axis_index(&self, name: &str) -> Option<usize> {
            self.0.iter().position(|(n, _)| *n == name)
        }
        fn axis_names(&self) -> Vec<String> {
            self.0.iter().map(|(n, _)| n.to_string()).collect()
        }
        fn labels(&self, axis: usize) -> Vec<String> {
            self.0[axis].1.iter().map(|s| s.to_string()).collect()
        }
    }

    fn cat() -> Cat {
        Cat(vec![
            ("mode", vec!["local", "remote"]),
            ("tari", vec!["local", "remote", "off"]),
            ("n", vec!["1", "5", "10"]),
            ("req", vec!["true", "false"]),
        ])
    }

    fn compile(s: &str) -> Expr {
        resolve(&parse(s).unwrap(), &cat(), MatchOptions::default()).unwrap()
    }

    #[test]
    fn if_then_is_implication() {
        let e = compile(r#"IF [tari] = "off" THEN [req] = false;"#);
        assert!(e.holds(&[0, 2, 0, 1]));
        assert!(!e.holds(&[0, 2, 0, 0]));
        assert!(e.holds(&[0, 0, 0, 0]));
    }

    #[test]
    fn else_branch_applies_when_condition_fails() {
        let e = compile(r#"IF [mode] = "local" THEN [n] > 1 ELSE [n] = 1"#);
        assert!(e.holds(&[0, 0, 1, 0]));
        assert!(!e.holds(&[0, 0, 0, 0]));
        assert!(e.holds(&[1, 0, 0, 0]));
        assert!(!e.holds(&[1, 0, 2, 0]));
    }

    #[test]
    fn in_like_not_and_axis_comparison() {
        let e = compile(r#"[tari] IN {"local", "remote"} AND NOT [mode] LIKE "rem*""#);
        assert!(e.holds(&[0, 1, 0, 0]));
        assert!(!e.holds(&[1, 1, 0, 0]));
        assert!(!e.holds(&[0, 2, 0, 0]));
        let e = compile("[mode] = [tari]");
        assert!(e.holds(&[1, 1, 0, 0]));
        assert!(!e.holds(&[1, 0, 0, 0]));
        let e = compile("[n] >= 5");
        assert_eq!(e, Expr::In(2, vec![false, true, true]));
    }

    #[test]
    fn partial_rows_are_three_valued() {
        let e = compile(r#"IF [tari] = "off" THEN [req] = false"#);
        assert_eq!(e.eval_partial(&[UNSET, 2, UNSET, UNSET]), Truth::Unknown);
        assert_eq!(e.eval_partial(&[UNSET, 2, UNSET, 0]), Truth::False);
        assert_eq!(e.eval_partial(&[UNSET, 0, UNSET, UNSET]), Truth::True);
    }

    #[test]
    fn errors_name_the_problem() {
        for (text, says) in [
            (r#"[nope] = "x""#, "unknown axis [nope]"),
            (r#"[mode] = "lcal""#, "local, remote"),
        ] {
            let err = resolve(&parse(text).unwrap(), &cat(), MatchOptions::default()).unwrap_err();
            assert!(err.contains(says), "{err}");
        }
        let err = parse(r#"IF [mode] = "local" [n] = 1"#).unwrap_err();
        assert!(err.message.contains("THEN"), "{err}");
        assert!(parse(r#"[mode] = "unclosed"#).is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn split_keeps_semicolons_inside_strings() {
        let parts = split_statements(r#"IF [a] = "x;y" THEN [b] = 1; [c] <> 2;"#);
        assert_eq!(parts.len(), 2);
        assert!(parts[0].1.contains("x;y"));
    }
}
