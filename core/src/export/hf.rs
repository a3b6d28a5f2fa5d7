//! A Hugging Face dataset folder in RefusEU's layout: one config per language
//! (`lang_xx/SPLIT-00000-of-00001.parquet`) and a dataset card whose `configs:` header lets
//! `datasets.load_dataset(folder, "lang_xx")` find the files.

use std::fmt::Write as _;
use std::path::Path;

use super::columnar::{Layout, metadata_columns, write_parquet};
use super::{
    ALL, ExportError, ExportReport, GENERATIONS, PROMPTS, SPLIT_OR_TRAIN, Selection, Staged,
    TRIPLES, io_err,
};

pub fn write(
    selection: &Selection,
    staged: Staged,
    out: &Path,
) -> Result<ExportReport, ExportError> {
    let metadata = metadata_columns(selection)?;
    let generations = selection.count(GENERATIONS)? > 0;
    let mut report = ExportReport::default();
    let mut card = String::from("---\nconfigs:\n");
    for language in selection.distinct("s.language")? {
        let config = format!("lang_{language}");
        let _ = writeln!(card, "- config_name: {config}\n  data_files:");
        let in_language = selection.narrow(&[("s.language", &language)]);
        // `datasets` requires every split of a config to share one schema.
        let layout = Layout {
            hf: true,
            triples: in_language.count(TRIPLES)? > 0,
            prompts: in_language.count(PROMPTS)? > 0,
            generations,
            metadata: metadata.clone(),
        };
        for split in in_language.distinct(SPLIT_OR_TRAIN)? {
            let part = in_language.narrow(&[(SPLIT_OR_TRAIN, &split)]);
            let name = format!("{split}-00000-of-00001.parquet");
            let dir = staged.tmp.join(&config);
            std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
            report.rows += write_parquet(&part, ALL, &layout, &dir.join(&name))?;
            report.files.push(out.join(&config).join(&name));
            let _ = writeln!(card, "  - split: {split}\n    path: {config}/{split}-*");
        }
    }
    card.push_str("---\n\nExported by Verdikt. One config per language; `chosen` and `rejected` are message lists whose user turn is the prompt.\n");
    let readme = staged.tmp.join("README.md");
    std::fs::write(&readme, card).map_err(io_err(&readme))?;
    staged.commit()?;
    Ok(report)
}
