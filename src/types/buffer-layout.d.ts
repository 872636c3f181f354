// Minimal typings for buffer-layout 1.2.2 (the package ships none); only what src/wire/layout.ts uses.
declare module 'buffer-layout' {
  export class Layout<T = unknown> {
    readonly span: number;
    readonly property?: string;
    decode(b: Buffer, offset?: number): T;
    encode(src: T, b: Buffer, offset?: number): number;
    getSpan(b?: Buffer, offset?: number): number;
  }
  export class Structure<T = Record<string, unknown>> extends Layout<T> {
    readonly fields: Layout[];
  }
  export function struct<T = Record<string, unknown>>(fields: Layout[], property?: string): Structure<T>;
  export function u8(property?: string): Layout<number>;
  export function u16be(property?: string): Layout<number>;
  export function u24be(property?: string): Layout<number>;
  export function u32be(property?: string): Layout<number>;
  export function blob(length: number, property?: string): Layout<Buffer>;
}
