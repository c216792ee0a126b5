//! skillguard: govern, resolve and scan, build and sandbox third-party Python
//! packages for AI-agent skills. The Python binding lives in `python/`.

pub mod advisory;
pub mod audit;
pub mod docker;
pub mod error;
pub mod governance;
pub mod image;
pub mod index;
pub mod install;
pub mod requirement;
pub mod resolve;
pub mod sandbox;
pub mod scan;
pub mod skill;
pub mod store;

#[cfg(feature = "python")]
mod python;

pub use error::{Error, Result};
