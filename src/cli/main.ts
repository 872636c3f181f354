export async function main(argv: string[]): Promise<number> {
  console.log('natt-sim', argv.join(' '));
  return 0;
}
