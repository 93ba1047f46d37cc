//! File helpers of the plot tests, shared with the CLI's state-band tests
//! (`models/cli/tests/cli_plots.rs` includes this file by path).

use std::path::{Path, PathBuf};

/// A fresh, empty folder per test (tests run in parallel).
pub fn out_dir(test: &str) -> PathBuf {
    let dir = match std::env::var_os("TRELLIS_PLOT_DIR") {
        Some(d) => PathBuf::from(d).join(test),
        None => std::env::temp_dir().join(format!("trellis-plots-{}-{test}", std::process::id())),
    };
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Removes the folder unless the images are being kept for viewing.
pub fn cleanup(dir: &Path) {
    if std::env::var_os("TRELLIS_PLOT_DIR").is_none() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// (width, height) from the IHDR chunk of a PNG file, checking the signature.
pub fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    assert_eq!(&bytes[12..16], b"IHDR");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

/// Width and height attributes of the root `<svg>` element.
pub fn svg_size(svg: &str) -> (u32, u32) {
    let attr = |name: &str| -> u32 {
        let start = svg.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        let end = start + svg[start..].find('"').unwrap();
        svg[start..end].parse().unwrap()
    };
    (attr("width"), attr("height"))
}

/// Files in `dir` whose name contains `.tmp` (left behind by an interrupted write).
pub fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect()
}
