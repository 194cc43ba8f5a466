// Just enough of PNG to count the colours of a screenshot: 8-bit RGB or RGBA,
// non-interlaced, every filter type. Pure node:zlib.
import {readFileSync} from 'node:fs'
import {inflateSync} from 'node:zlib'

export interface Image {
  width: number
  height: number
  /** [r, g, b] of the pixel at x, y */
  pixel(x: number, y: number): [number, number, number]
}

export function readPng(file: string): Image {
  const data = readFileSync(file)
  if (data.readUInt32BE(0) !== 0x89504e47) throw new Error(`${file} is not a PNG`)
  let offset = 8
  let width = 0
  let height = 0
  let channels = 0
  const idat: Buffer[] = []
  while (offset < data.length) {
    const length = data.readUInt32BE(offset)
    const type = data.toString('ascii', offset + 4, offset + 8)
    const body = data.subarray(offset + 8, offset + 8 + length)
    if (type === 'IHDR') {
      width = body.readUInt32BE(0)
      height = body.readUInt32BE(4)
      const [depth, colorType, , , interlace] = [body[8], body[9], body[10], body[11], body[12]]
      if (depth !== 8 || interlace !== 0 || (colorType !== 2 && colorType !== 6)) throw new Error(`unsupported PNG: depth ${depth}, colour type ${colorType}`)
      channels = colorType === 6 ? 4 : 3
    }
    if (type === 'IDAT') idat.push(body)
    offset += 12 + length
  }
  const raw = inflateSync(Buffer.concat(idat))
  const stride = width * channels
  const pixels = Buffer.alloc(height * stride)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1))
    for (let i = 0; i < stride; i++) {
      const left = i >= channels ? pixels[y * stride + i - channels]! : 0
      const up = y > 0 ? pixels[(y - 1) * stride + i]! : 0
      const upLeft = y > 0 && i >= channels ? pixels[(y - 1) * stride + i - channels]! : 0
      const x = line[i]!
      let v: number
      switch (filter) {
        case 0: v = x; break
        case 1: v = x + left; break
        case 2: v = x + up; break
        case 3: v = x + ((left + up) >> 1); break
        case 4: {
          const p = left + up - upLeft
          const pa = Math.abs(p - left)
          const pb = Math.abs(p - up)
          const pc = Math.abs(p - upLeft)
          v = x + (pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft)
          break
        }
        default: throw new Error(`bad PNG filter ${filter}`)
      }
      pixels[y * stride + i] = v & 0xff
    }
  }
  return {
    width,
    height,
    pixel(x, y) {
      const i = y * stride + x * channels
      return [pixels[i]!, pixels[i + 1]!, pixels[i + 2]!]
    },
  }
}

/** How many pixels have exactly this colour (#rrggbb). */
export function countColor(image: Image, hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16))
  let n = 0
  for (let y = 0; y < image.height; y++) for (let x = 0; x < image.width; x++) {
    const p = image.pixel(x, y)
    if (p[0] === r && p[1] === g && p[2] === b) n++
  }
  return n
}
