// jstat ships no types; only the distribution functions Sextant's statistics call are declared.
declare module 'jstat' {
  interface Cdf {
    cdf(x: number, ...params: number[]): number;
  }
  interface JStat {
    chisquare: Cdf;
    normal: Cdf;
  }
  const jStat: JStat;
  export default jStat;
}
