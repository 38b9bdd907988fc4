//! Where a chart's legend goes so that it covers no curve: in a corner the curves leave empty (the training
//! chart's panels), or below the plot in rows (the experiments' overlays, whose runs go anywhere).
use plotters::prelude::SeriesLabelPosition;

/// A corner of a plot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corner {
    UpperRight,
    LowerRight,
    UpperLeft,
    LowerLeft,
}

impl Corner {
    /// In order of preference where several are as empty.
    const ALL: [Corner; 4] = [
        Corner::UpperRight,
        Corner::LowerRight,
        Corner::UpperLeft,
        Corner::LowerLeft,
    ];

    pub fn position(self) -> SeriesLabelPosition {
        match self {
            Corner::UpperRight => SeriesLabelPosition::UpperRight,
            Corner::LowerRight => SeriesLabelPosition::LowerRight,
            Corner::UpperLeft => SeriesLabelPosition::UpperLeft,
            Corner::LowerLeft => SeriesLabelPosition::LowerLeft,
        }
    }
}

/// The corner where a legend of `(width, height)` covers the fewest points of `lines`, all in fractions of
/// the plot (x from the left, y from the bottom). Each segment counts at 17 points along it, so a line that
/// crosses a corner between two evaluations counts there too.
pub fn emptiest_corner(lines: &[Vec<(f64, f64)>], (width, height): (f64, f64)) -> Corner {
    const SAMPLES: usize = 16;
    let points = lines.iter().flat_map(|line| {
        let single = (line.len() == 1).then(|| line[0]);
        line.windows(2)
            .flat_map(|pair| {
                let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
                (0..=SAMPLES).map(move |i| {
                    let t = i as f64 / SAMPLES as f64;
                    (x0 + t * (x1 - x0), y0 + t * (y1 - y0))
                })
            })
            .chain(single)
    });
    let mut covered = [0usize; 4];
    for (x, y) in points {
        let (right, left, top, bottom) = (x >= 1.0 - width, x <= width, y >= 1.0 - height, y <= height);
        for (count, inside) in covered
            .iter_mut()
            .zip([right && top, right && bottom, left && top, left && bottom])
        {
            *count += usize::from(inside);
        }
    }
    let emptiest = (0..4).min_by_key(|&i| covered[i]).unwrap_or(0);
    Corner::ALL[emptiest]
}

/// The legend's entries (their widths, in order) in rows of at most `width` pixels, `gap` apart: each row lists
/// its entries' indices. An entry wider than `width` has a row of its own.
pub fn legend_rows(widths: &[u32], width: u32, gap: u32) -> Vec<Vec<usize>> {
    let mut rows: Vec<Vec<usize>> = Vec::new();
    let mut used = 0;
    for (index, &entry) in widths.iter().enumerate() {
        match rows.last_mut() {
            Some(row) if used + gap + entry <= width => {
                row.push(index);
                used += gap + entry;
            }
            _ => {
                rows.push(vec![index]);
                used = entry;
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::{emptiest_corner, legend_rows, Corner};

    #[test]
    fn the_legend_goes_to_the_corner_the_curves_leave_empty() {
        let legend = (0.3, 0.25);
        // a falling loss leaves the upper right empty (the first preference)
        let loss = vec![(0.0, 0.95), (0.2, 0.4), (1.0, 0.1)];
        assert_eq!(emptiest_corner(&[loss], legend), Corner::UpperRight);
        // a rising accuracy that ends near the top: the lower right
        let accuracy = vec![(0.1, 0.1), (0.5, 0.7), (1.0, 0.9)];
        assert_eq!(
            emptiest_corner(std::slice::from_ref(&accuracy), legend),
            Corner::LowerRight
        );
        // add a curve along the bottom on the right: the upper left
        let low = vec![(0.0, 0.5), (0.4, 0.2), (1.0, 0.05)];
        assert_eq!(emptiest_corner(&[accuracy, low], legend), Corner::UpperLeft);
        // a segment crossing a corner between two far points counts there
        let crossing = vec![(0.0, 0.0), (1.0, 1.0)];
        let corner = emptiest_corner(&[crossing], legend);
        assert!(matches!(corner, Corner::LowerRight | Corner::UpperLeft), "{corner:?}");
    }

    #[test]
    fn legend_entries_fill_rows_in_order_and_never_exceed_the_width() {
        let widths = [100, 120, 90, 300, 50, 50];
        let rows = legend_rows(&widths, 350, 20);
        assert_eq!(rows, vec![vec![0, 1, 2], vec![3], vec![4, 5]]);
        for row in &rows {
            let used: u32 = row.iter().map(|&i| widths[i]).sum::<u32>() + 20 * (row.len() as u32 - 1);
            assert!(used <= 350, "{row:?} takes {used} px");
        }
        // an entry wider than the row stands alone; no entries, no rows
        assert_eq!(legend_rows(&[500, 10], 350, 20), vec![vec![0], vec![1]]);
        assert!(legend_rows(&[], 350, 20).is_empty());
    }
}
