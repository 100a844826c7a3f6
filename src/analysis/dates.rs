//! Calendar arithmetic for legal periods (期间计算).
//!
//! 《民法典》第二百零一条: the day a period starts is not counted; 第二百零二条: a period in years
//! ends on the corresponding day of the final year, or on the last day of that month when
//! there is no corresponding day. So "满一年" after 2020-03-05 is complete at the end of
//! 2021-03-05 and holds from 2021-03-06; after 2020-02-29 it ends on 2021-02-28 and holds from
//! 2021-03-01. "满一年" is calendar years, never 365 days.

use chrono::{Datelike, NaiveDate};

/// The last day of a period of `years` years that starts on `start`.
pub fn period_end(start: NaiveDate, years: u32) -> NaiveDate {
    let year = start.year() + years as i32;
    NaiveDate::from_ymd_opt(year, start.month(), start.day())
        .or_else(|| {
            // No corresponding day (29 February): the month's last day.
            NaiveDate::from_ymd_opt(year, start.month() + 1, 1)
                .or_else(|| NaiveDate::from_ymd_opt(year + 1, 1, 1))
                .and_then(|d| d.pred_opt())
        })
        .expect("a valid date")
}

/// The first day on which `years` full years have passed since `start`.
pub fn first_day_after(start: NaiveDate, years: u32) -> NaiveDate {
    period_end(start, years)
        .succ_opt()
        .expect("dates stay in range")
}

/// A recorded date as it stood on `as_of`: an event dated after it had not happened yet
/// (evaluating an earlier day ignores what was recorded since).
pub fn happened_by(date: Option<NaiveDate>, as_of: NaiveDate) -> Option<NaiveDate> {
    date.filter(|d| *d <= as_of)
}

/// Whether `years` full years have passed since `start` on `as_of`.
pub fn full_years_passed(start: NaiveDate, years: u32, as_of: NaiveDate) -> bool {
    as_of >= first_day_after(start, years)
}

/// Years from `start` to `as_of` as a decimal: whole years completed, plus the fraction of the
/// year under way (days since the last completed year over that year's length).
pub fn years_between(start: NaiveDate, as_of: NaiveDate) -> f64 {
    if as_of <= start {
        return 0.0;
    }
    let mut whole = 0u32;
    while full_years_passed(start, whole + 1, as_of) {
        whole += 1;
    }
    let from = period_end(start, whole);
    let to = period_end(start, whole + 1);
    let span = (to - from).num_days().max(1) as f64;
    f64::from(whole) + (as_of - from).num_days() as f64 / span
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn one_full_year_holds_from_the_day_after_the_anniversary() {
        let start = d("2020-03-05");
        assert_eq!(period_end(start, 1), d("2021-03-05"));
        assert!(!full_years_passed(start, 1, d("2021-03-04")));
        assert!(!full_years_passed(start, 1, d("2021-03-05")));
        assert!(full_years_passed(start, 1, d("2021-03-06")));
    }

    #[test]
    fn the_29th_of_february_ends_on_the_last_day_of_february() {
        let start = d("2020-02-29");
        assert_eq!(period_end(start, 1), d("2021-02-28"));
        assert_eq!(first_day_after(start, 1), d("2021-03-01"));
        assert_eq!(period_end(start, 4), d("2024-02-29"));
        assert!(!full_years_passed(start, 2, d("2022-02-28")));
        assert!(full_years_passed(start, 2, d("2022-03-01")));
        assert_eq!(period_end(d("2019-12-31"), 1), d("2020-12-31"));
    }

    #[test]
    fn years_between_counts_calendar_years() {
        assert_eq!(years_between(d("2020-03-05"), d("2022-03-05")), 2.0);
        let y = years_between(d("2020-03-05"), d("2022-09-04"));
        assert!((y - (2.0 + 183.0 / 365.0)).abs() < 1e-12, "{y}");
        assert_eq!(years_between(d("2022-01-01"), d("2021-01-01")), 0.0);
    }
}
