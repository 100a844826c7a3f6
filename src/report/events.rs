//! The event history (处置记录) as a table, for the terminal, CSV and Excel.

use crate::model::disposal::Event;
use crate::report::table::{Cell, Table};

/// One row per event, in the order given, with Chinese headers.
pub fn table(events: &[Event]) -> Table {
    let mut t = Table::new(
        "处置记录",
        &[
            "记录编号",
            "对象",
            "图层",
            "要素编号",
            "状态",
            "处置方式",
            "生效日期",
            "期限至",
            "文号",
            "金额(万元)",
            "备注",
            "记录人",
            "记录时间",
            "更正记录",
        ],
    );
    for e in events {
        t.push(vec![
            Cell::Int(e.id),
            e.subject.label_zh().into(),
            e.layer.as_str().into(),
            e.feature_id.as_str().into(),
            e.status.label_zh().into(),
            Cell::text(e.method.map(|m| m.label_zh())),
            Cell::Date(e.effective_date),
            e.until.map_or(Cell::Empty, Cell::Date),
            Cell::text(e.document_no.clone()),
            Cell::num(e.amount_wan, 2),
            Cell::text(e.note.clone()),
            e.recorded_by.as_str().into(),
            e.recorded_at.as_str().into(),
            e.supersedes.map_or(Cell::Empty, Cell::Int),
        ]);
    }
    t
}
