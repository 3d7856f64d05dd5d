/** The one function of seek-bzip (pure-JS bzip2 decoder) that transferkit uses. */
declare module 'seek-bzip' {
  const Bunzip: {
    decode(input: Uint8Array, output?: Uint8Array, multistream?: boolean): Buffer;
  };
  export default Bunzip;
}
