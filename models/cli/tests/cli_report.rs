//! `report.html`: `fit` writes it and `trellis report DIR` rebuilds it; the page is
//! well-formed, refers to nothing outside itself, inlines every figure of the run (and of a
//! later `ppc`), shows the numbers of `summary.json` and escapes text from the user (a data
//! file named with markup).
//!
//! Well-formedness is checked by a strict tag/entity scanner written here rather than an
//! HTML5 parser crate: an HTML5 parser repairs anything (it never fails), so it cannot catch
//! an unclosed element or an unescaped `<`; the report is written XHTML-clean (every element
//! closed, every attribute quoted), which this scanner checks exactly.

use crate::cli_common;

use std::path::Path;

use cli_common::{assert_success, read_json, trellis, Scratch};

/// Elements that never have content or a closing tag.
const VOID: [&str; 5] = ["meta", "br", "hr", "img", "link"];

/// Whether `s` starts with a character reference (`&amp;`, `&#39;`, `&#x3c;`).
fn entity_at(s: &str) -> bool {
    let Some(end) = s.find(';') else { return false };
    let body = &s[1..end];
    match body.strip_prefix('#') {
        Some(num) => match num.strip_prefix(['x', 'X']) {
            Some(hex) => !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()),
            None => !num.is_empty() && num.chars().all(|c| c.is_ascii_digit()),
        },
        None => !body.is_empty() && body.chars().all(|c| c.is_ascii_alphanumeric()),
    }
}

/// Checks that `html` is a DOCTYPE then balanced, properly nested elements with quoted
/// attributes, no stray `<` and only valid character references; the first fault otherwise.
fn check_well_formed(html: &str) -> Result<(), String> {
    let mut rest = html
        .strip_prefix("<!DOCTYPE html>")
        .ok_or("no <!DOCTYPE html> at the start")?;
    let mut open: Vec<String> = Vec::new();
    let at = |rest: &str| html.len() - rest.len();
    while !rest.is_empty() {
        if let Some(comment) = rest.strip_prefix("<!--") {
            let end = comment.find("-->").ok_or("unclosed comment")?;
            rest = &comment[end + 3..];
        } else if let Some(tag) = rest.strip_prefix("</") {
            let end = tag.find('>').ok_or("unclosed end tag")?;
            let name = tag[..end].trim();
            match open.pop() {
                Some(top) if top == name => {}
                top => return Err(format!("</{name}> at byte {} closes {top:?}", at(rest))),
            }
            rest = &tag[end + 1..];
        } else if let Some(tag) = rest.strip_prefix('<') {
            let name_len = tag
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == ':'))
                .unwrap_or(tag.len());
            if name_len == 0 {
                return Err(format!("stray '<' at byte {}", at(rest)));
            }
            let name = tag[..name_len].to_ascii_lowercase();
            let mut attrs = &tag[name_len..];
            // Attributes: name="value", separated by white space, then `>` or `/>`.
            let self_closing = loop {
                attrs = attrs.trim_start();
                if let Some(r) = attrs.strip_prefix("/>") {
                    attrs = r;
                    break true;
                }
                if let Some(r) = attrs.strip_prefix('>') {
                    attrs = r;
                    break false;
                }
                let eq = attrs
                    .find('=')
                    .ok_or(format!("attribute without value in <{name}>"))?;
                let key = &attrs[..eq];
                if key.is_empty() || key.contains(|c: char| c.is_whitespace() || c == '<') {
                    return Err(format!("bad attribute name {key:?} in <{name}>"));
                }
                let value = attrs[eq + 1..]
                    .strip_prefix('"')
                    .ok_or(format!("unquoted attribute {key} in <{name}>"))?;
                let close = value.find('"').ok_or("unclosed attribute value")?;
                check_text(&value[..close])?;
                attrs = &value[close + 1..];
            };
            rest = attrs;
            if name == "style" || name == "script" {
                // Raw text up to its end tag.
                let end = rest.find(&format!("</{name}>")).ok_or("unclosed <style>")?;
                rest = &rest[end + name.len() + 3..];
            } else if !self_closing && !VOID.contains(&name.as_str()) {
                open.push(name);
            }
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            check_text(&rest[..end])?;
            rest = &rest[end..];
        }
    }
    match open.last() {
        Some(name) => Err(format!("<{name}> is never closed")),
        None => Ok(()),
    }
}

/// Text content and attribute values: every `&` starts a character reference.
fn check_text(text: &str) -> Result<(), String> {
    for (i, _) in text.match_indices('&') {
        if !entity_at(&text[i..]) {
            let shown: String = text[i..].chars().take(12).collect();
            return Err(format!("unescaped '&' in {shown:?}"));
        }
    }
    Ok(())
}

#[test]
fn the_checker_refuses_broken_pages() {
    let good = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"/><style>a<b</style></head>\
                <body><p class=\"x\">a &amp; b &#39; &#x3c;</p><svg><path d=\"M0 0\"/></svg>\
                </body></html>";
    assert_eq!(check_well_formed(good), Ok(()));
    let bad = [
        ("no doctype", "<html></html>"),
        ("unclosed element", "<!DOCTYPE html><html><body></html>"),
        ("misnested", "<!DOCTYPE html><p><b></p></b>"),
        ("stray <", "<!DOCTYPE html><p>1 < 2</p>"),
        ("bare &", "<!DOCTYPE html><p>a & b</p>"),
        ("unquoted attribute", "<!DOCTYPE html><p class=x></p>"),
        ("& in attribute", "<!DOCTYPE html><p title=\"a&b\"></p>"),
        ("unclosed style", "<!DOCTYPE html><style>p{}"),
    ];
    for (what, page) in bad {
        assert!(check_well_formed(page).is_err(), "{what}: {page} accepted");
    }
}

/// References to anything outside the page: `src`/`href` attributes, CSS `url(…)` and
/// `@import`, and any http(s) address other than the SVG namespace name.
fn external_references(html: &str) -> Vec<String> {
    let without_namespace = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    [
        "src=", "href=", "url(", "@import", "http://", "https://", "<script", "<link",
    ]
    .iter()
    .filter(|needle| without_namespace.contains(**needle))
    .map(|needle| needle.to_string())
    .collect()
}

/// The cells of the summary row of `name` in the report.
fn row_cells(html: &str, name: &str) -> Vec<String> {
    let start = format!("<tr><td>{name}</td>");
    let i = html
        .find(&start)
        .unwrap_or_else(|| panic!("no summary row for {name}"));
    let row = &html[i + start.len()..];
    let row = &row[..row.find("</tr>").expect("row end")];
    row.split("</td>")
        .filter_map(|c| c.strip_prefix("<td>"))
        .map(str::to_string)
        .collect()
}

/// Checks the report in `dir`: well-formed, self-contained, `figures` inlined, and each
/// parameter's mean, sd, HDI, ESS and R-hat of `summary.json` in its row as the printed table
/// rounds them.
fn check_report(dir: &Path, figures: usize) -> String {
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html written");
    if let Err(fault) = check_well_formed(&html) {
        panic!("report.html is not well-formed: {fault}");
    }
    assert_eq!(external_references(&html), Vec::<String>::new());
    assert_eq!(html.matches("<svg").count(), figures, "inlined figures");
    let summary = read_json(&dir.join("summary.json"));
    let params: Vec<&String> = summary
        .as_object()
        .expect("summary object")
        .iter()
        .filter(|(k, v)| v.get("ess_bulk").is_some() && !k.starts_with("log_lik"))
        .map(|(k, _)| k)
        .collect();
    assert!(params.len() >= 4, "parameters in summary.json: {params:?}");
    for name in params {
        let row = &summary[name];
        let value = |key: &str| row[key].as_f64().unwrap_or(f64::NAN);
        let expected = [
            format!("{:.3}", value("mean")),
            format!("{:.3}", value("sd")),
            format!("{:.3}", value("hdi_3%")),
            format!("{:.3}", value("hdi_97%")),
            format!("{:.0}", value("ess_bulk")),
            format!("{:.2}", value("r_hat")),
        ];
        let cells = row_cells(&html, name);
        let shown = [
            &cells[0], &cells[1], &cells[2], &cells[3], &cells[6], &cells[8],
        ];
        for (e, s) in expected.iter().zip(shown) {
            assert_eq!(
                e, s,
                "{name}: summary.json against the report's row {cells:?}"
            );
        }
    }
    html
}

/// Runs `trellis` with the white-space separated words of `command` in `dir`, asserting
/// success.
fn run_ok(dir: &Path, command: &str) {
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_success(&trellis(dir, &words), command);
}

#[test]
fn fit_writes_a_self_contained_report_and_report_rebuilds_it() {
    let dir = Scratch::new("report");
    run_ok(
        dir.path(),
        "simulate --model poisson --states 2 --sequences 8 --length 40 --seed 5 --out sim",
    );
    // A data file whose name is markup: it reaches the page through the provenance lines.
    let data = "a<b>&\"c\".csv";
    std::fs::copy(dir.join("sim/data.csv"), dir.join(data)).expect("copy data");
    let model = format!("--model poisson --states 2 --data {data} --quiet --out fit");
    run_ok(
        dir.path(),
        &format!("fit {model} --chains 2 --warmup 150 --draws 100 --seed 2 --log-lik sequence"),
    );
    let fit_dir = dir.join("fit");
    // trace.svg and posterior.svg.
    let html = check_report(&fit_dir, 2);
    assert!(
        !html.contains(data),
        "the data file name reached the page unescaped"
    );
    assert!(
        html.contains("a&lt;b&gt;&amp;&quot;c&quot;.csv"),
        "escaped name missing"
    );
    assert!(html.contains("pointwise log-likelihood: 8 entries"));
    for key in [
        "trellis_data_sha256",
        "command_line",
        "trellis_version",
        "seed",
    ] {
        assert!(
            html.contains(&format!("<td>{key}</td>")),
            "provenance {key}"
        );
    }

    // Rebuilt after a posterior predictive check: its figure and p-values join the page.
    run_ok(dir.path(), "ppc fit --draws 20 --out ppc");
    std::fs::remove_file(fit_dir.join("report.html")).expect("remove report");
    run_ok(dir.path(), "report fit --ppc ppc");
    let html = check_report(&fit_dir, 3);
    assert!(html.contains("Posterior predictive check"), "ppc section");
    let ppc_json = read_json(&dir.join("ppc/ppc.json"));
    for s in ppc_json["statistics"].as_array().expect("statistics") {
        let (name, p) = (s["name"].as_str().unwrap(), s["p_value"].as_f64().unwrap());
        assert!(
            html.contains(&format!("<td>{name}</td>")) && html.contains(&format!("{p:.3}")),
            "ppc statistic {name} (p = {p})"
        );
    }
    // A refit with --overwrite replaces the run, report included.
    run_ok(
        dir.path(),
        &format!("fit {model} --chains 1 --warmup 50 --draws 20 --overwrite"),
    );
    assert!(fit_dir.join("report.html").is_file());
}

#[test]
fn report_of_a_folder_without_a_fit_is_an_error() {
    let dir = Scratch::new("report-empty");
    std::fs::create_dir_all(dir.join("empty")).expect("folder");
    let out = trellis(dir.path(), &["report", "empty"]);
    cli_common::assert_error(
        &out,
        "no chain_N.csv files in 'empty' (is it a `trellis fit` output folder?)",
    );
    let out = trellis(dir.path(), &["report", "empty", "--ppc", "missing"]);
    cli_common::assert_error(&out, "'missing' is not a folder");
}
