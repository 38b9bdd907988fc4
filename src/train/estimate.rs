//! How long the rest of a run takes at the speed measured so far: the page shows it beside the images/s, so a
//! long run (the ConvNet's 5000 steps, a queue of experiments) says its length before anyone waits for it.

/// Seconds for `remaining_steps` steps of `images_per_step` images at `images_per_second`; `None` without a
/// measured speed.
pub fn time_left(remaining_steps: usize, images_per_step: usize, images_per_second: f64) -> Option<f64> {
    (images_per_second.is_finite() && images_per_second > 0.0)
        .then(|| (remaining_steps * images_per_step) as f64 / images_per_second)
}

/// A duration as a person reads it, rounded to what matters at its size: `"35 s"`, `"4 min 20 s"`,
/// `"1 h 05 min"`.
pub fn format_duration(seconds: f64) -> String {
    let total = seconds.max(0.0).round() as u64;
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    match (hours, minutes) {
        (0, 0) => format!("{seconds} s"),
        (0, _) => format!("{minutes} min {seconds:02} s"),
        _ => format!("{hours} h {minutes:02} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_left_is_the_remaining_images_over_the_speed() {
        // the ConvNet's 5000 steps of 32 images at 16 images/s: 10,000 s
        assert_eq!(time_left(5000, 32, 16.0), Some(10_000.0));
        assert_eq!(time_left(0, 32, 16.0), Some(0.0));
        for speed in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(time_left(10, 32, speed), None, "{speed}");
        }
    }

    #[test]
    fn durations_read_at_their_scale() {
        assert_eq!(format_duration(0.4), "0 s");
        assert_eq!(format_duration(35.2), "35 s");
        assert_eq!(format_duration(260.0), "4 min 20 s");
        assert_eq!(format_duration(3605.0), "1 h 00 min");
        assert_eq!(format_duration(10_000.0), "2 h 46 min");
        assert_eq!(format_duration(-3.0), "0 s");
    }
}
