// The digit drawing pad. scikit-learn's digits are 32×32 bitmaps whose 4×4 blocks are counted
// into an 8×8 image of values 0–16. The pad is drawn at 256×256 and downsampled the same way:
// each of the 64 cells covers a 32×32 block; its value is the share of inked pixels × 16.

export class DrawPad {
  constructor(canvas, preview, onChange) {
    this.canvas = canvas;
    this.preview = preview;
    this.onChange = onChange;
    this.ctx = canvas.getContext("2d", { willReadFrequently: true });
    this.drawing = false;
    this.last = null;
    this.clear();
    const pos = (ev) => {
      const r = canvas.getBoundingClientRect();
      return [((ev.clientX - r.left) * canvas.width) / r.width, ((ev.clientY - r.top) * canvas.height) / r.height];
    };
    canvas.addEventListener("pointerdown", (ev) => {
      this.drawing = true;
      this.last = pos(ev);
      canvas.setPointerCapture?.(ev.pointerId);
      this.stroke(this.last, this.last);
    });
    canvas.addEventListener("pointermove", (ev) => {
      if (!this.drawing) return;
      const p = pos(ev);
      this.stroke(this.last, p);
      this.last = p;
    });
    const end = () => { this.drawing = false; this.last = null; };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointerleave", end);
  }

  clear() {
    this.ctx.fillStyle = "#fff";
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.renderPreview(new Float32Array(64));
  }

  stroke(a, b) {
    const ctx = this.ctx;
    ctx.strokeStyle = "#000";
    ctx.lineWidth = this.canvas.width / 11;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0], b[1]);
    ctx.stroke();
    const pixels = this.pixels();
    this.renderPreview(pixels);
    this.onChange?.(pixels);
  }

  /** The 64 features, row by row, 0–16. */
  pixels() {
    const { width, height } = this.canvas;
    const img = this.ctx.getImageData(0, 0, width, height).data;
    const cw = width / 8, ch = height / 8;
    const out = new Float32Array(64);
    for (let r = 0; r < 8; r++) {
      for (let c = 0; c < 8; c++) {
        let ink = 0, n = 0;
        for (let y = Math.floor(r * ch); y < Math.floor((r + 1) * ch); y++) {
          for (let x = Math.floor(c * cw); x < Math.floor((c + 1) * cw); x++) {
            ink += 1 - img[(y * width + x) * 4] / 255;
            n++;
          }
        }
        out[r * 8 + c] = Math.round((ink / n) * 16);
      }
    }
    return out;
  }

  renderPreview(pixels) {
    const ctx = this.preview.getContext("2d");
    const s = this.preview.width / 8;
    for (let i = 0; i < 64; i++) {
      const v = 255 - Math.round((pixels[i] / 16) * 255);
      ctx.fillStyle = `rgb(${v},${v},${v})`;
      ctx.fillRect((i % 8) * s, Math.floor(i / 8) * s, s, s);
    }
  }
}
