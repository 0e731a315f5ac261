// Single-page app: the API gateway serves index.html for every deep link.
export const ssr = false;
export const prerender = false;
