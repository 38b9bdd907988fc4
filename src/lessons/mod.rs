//! The assignment as lessons: the report's sections in order, each a short text, the corrected formulas (from
//! [`crate::formulas`], the same MathML the layer inspector shows), an experiment the page sets up (a preset
//! of [`crate::session::presets`] and what to do with it), what to watch while it runs, and the report's number
//! to compare with. The lessons themselves are data, in [`table`]; this module resolves them for the page.
mod table;

use crate::error::ConfigError;
use crate::formulas::{self, LayerFormulas};
use crate::session::presets;

/// What a lesson's button does once its preset is loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LessonAction {
    /// Start training (the page's `Run`).
    Train,
    /// Check the gradients of the current model.
    CheckGradients,
    /// Check every layer kind (the standard suite, the assignment's unit tests).
    Suite,
    /// Run the eight Table 1 configurations in turn.
    Table1Queue,
}

/// A number of the report (or the assignment) to compare with when the experiment ends.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReportNumber {
    /// What the number is, e.g. "Table 1, row 4: Adam, ELU, BatchNorm".
    pub what: String,
    pub value: f64,
    /// `%` for accuracies, empty for plain numbers.
    pub unit: String,
}

/// One lesson as the page shows it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Lesson {
    /// The `?lesson=` name, e.g. `derivations`.
    pub id: String,
    /// The report's section, e.g. `1.1`.
    pub section: String,
    pub title: String,
    /// Paragraphs of plain text.
    pub text: Vec<String>,
    /// The formulas of the layers and losses the lesson is about.
    pub formulas: Vec<LayerFormulas>,
    /// The preset the button loads, and its configuration as a query string.
    pub preset: String,
    pub query: String,
    pub action: LessonAction,
    /// The button's label.
    pub button: String,
    /// What to look at while it runs.
    pub watch: String,
    pub report: Option<ReportNumber>,
}

/// Every lesson, in the report's order.
pub fn lessons() -> Vec<Lesson> {
    table::LESSONS.iter().filter_map(|entry| resolve(entry).ok()).collect()
}

/// The lesson named `id` (a `?lesson=` value); an unknown name lists the known ones.
pub fn lesson(id: &str) -> Result<Lesson, ConfigError> {
    match table::LESSONS.iter().find(|entry| entry.id == id) {
        Some(entry) => resolve(entry),
        None => {
            let known: Vec<&str> = table::LESSONS.iter().map(|entry| entry.id).collect();
            Err(ConfigError::new(
                "lesson",
                format!("one of {}", known.join(", ")),
                format!("`{id}`"),
            ))
        }
    }
}

/// A table entry with its formulas and preset looked up (an unknown name is an error naming it).
fn resolve(entry: &table::LessonEntry) -> Result<Lesson, ConfigError> {
    let formulas = entry
        .formulas
        .iter()
        .map(|name| {
            formulas::for_name(name)
                .ok_or_else(|| ConfigError::new("lesson formula", "a layer kind or loss name", format!("`{name}`")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let preset = presets()
        .into_iter()
        .find(|preset| preset.id == entry.preset)
        .ok_or_else(|| ConfigError::new("lesson preset", "a preset id", format!("`{}`", entry.preset)))?;
    Ok(Lesson {
        id: entry.id.into(),
        section: entry.section.into(),
        title: entry.title.into(),
        text: entry.text.iter().map(|paragraph| paragraph.to_string()).collect(),
        formulas,
        preset: preset.id,
        query: preset.query,
        action: entry.action,
        button: entry.button.into(),
        watch: entry.watch.into(),
        report: entry.report.map(|(what, value, unit)| ReportNumber {
            what: what.into(),
            value,
            unit: unit.into(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lesson_resolves_its_formulas_and_preset() {
        for entry in table::LESSONS {
            let lesson = resolve(entry).unwrap_or_else(|error| panic!("lesson {}: {error}", entry.id));
            assert_eq!(lesson.formulas.len(), entry.formulas.len());
            assert!(!lesson.text.is_empty() && !lesson.watch.is_empty(), "{}", entry.id);
        }
        assert_eq!(lessons().len(), table::LESSONS.len());
    }
}
