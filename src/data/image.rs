//! Images between the browser's RGBA pixels and CIFAR-10's CHW bytes: a picture of any size averaged down to
//! 32×32, and a 32×32 image as RGBA tiles for the page.
use super::IMAGE_SIZE;

/// Appends a CHW image (3072 bytes) as 32×32 RGBA.
pub fn push_rgba(pixels: &mut Vec<u8>, image: &[u8]) {
    let plane = IMAGE_SIZE * IMAGE_SIZE;
    for position in 0..plane {
        pixels.extend([
            image[position],
            image[plane + position],
            image[2 * plane + position],
            255,
        ]);
    }
}

/// Resizes an RGBA picture to a 32×32 CHW image by averaging the source area under each target pixel
/// (nearest source pixel when enlarging); alpha is composited over white.
pub fn resize_to_cifar(rgba: &[u8], width: usize, height: usize) -> Vec<u8> {
    let plane = IMAGE_SIZE * IMAGE_SIZE;
    let mut image = vec![0u8; 3 * plane];
    for ty in 0..IMAGE_SIZE {
        let y0 = ty * height / IMAGE_SIZE;
        let y1 = ((ty + 1) * height / IMAGE_SIZE).max(y0 + 1).min(height);
        for tx in 0..IMAGE_SIZE {
            let x0 = tx * width / IMAGE_SIZE;
            let x1 = ((tx + 1) * width / IMAGE_SIZE).max(x0 + 1).min(width);
            let mut sums = [0f64; 3];
            for y in y0..y1 {
                for x in x0..x1 {
                    let pixel = &rgba[(y * width + x) * 4..][..4];
                    let alpha = f64::from(pixel[3]) / 255.0;
                    for c in 0..3 {
                        sums[c] += f64::from(pixel[c]) * alpha + 255.0 * (1.0 - alpha);
                    }
                }
            }
            let area = ((y1 - y0) * (x1 - x0)) as f64;
            for c in 0..3 {
                image[c * plane + ty * IMAGE_SIZE + tx] = (sums[c] / area).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    image
}
