//! What a source file says, read without a parser: its stemmed words
//! ([`terms`]), the modules it imports ([`imports`]) and the names it
//! defines ([`symbols`]), for Rust, Python, JavaScript/TypeScript and Go.

pub mod imports;
pub mod symbols;
pub mod terms;
