import { ValidationError } from '../core/errors.js';

/*
 * Where an experiment's runs keep their artifacts. MLflow clients write wherever a run's artifact_uri
 * says: a `file://` URI or a bare path would have them write into the machine they run on, or (for a
 * client on the server, a notebook beside it, or MLflow's own server-side handlers) into the server's
 * file system, the local-file-inclusion class of MLflow's advisories. So a location is either this
 * server's artifact proxy (`mlflow-artifacts:`, the default) or a remote object store the client writes
 * to with its own credentials; never a local path, and never one that climbs with `..`.
 */

const REMOTE_SCHEMES = new Set(['mlflow-artifacts', 's3', 's3a', 'gs', 'wasbs', 'abfss', 'https', 'http']);

/** Returns the location when it may be used; ValidationError (field artifact_location) otherwise. */
export function checkArtifactLocation(location: string, field = 'artifact_location'): string {
  const refuse = (why: string) =>
    new ValidationError(
      `${field}: '${location.slice(0, 200)}' ${why}; use the server's artifact proxy (leave it empty) or a remote store (s3://, gs://, wasbs://, abfss://, https://)`,
      { field },
    );
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(location)?.[1]?.toLowerCase();
  // A one-letter scheme is a Windows drive (C:\...), a local path like any other.
  if (scheme === undefined || scheme.length === 1) throw refuse('is a local path');
  if (!REMOTE_SCHEMES.has(scheme)) throw refuse(`uses '${scheme}:', which is not a remote artifact store`);
  let decoded = location;
  for (let i = 0; i < 3; i++) {
    try {
      decoded = decodeURIComponent(decoded);
    } catch {
      break;
    }
  }
  if (decoded.split(/[/\\]/).some((segment) => segment === '..'))
    throw refuse("climbs out of its folder with '..'");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f]/.test(decoded)) throw refuse('holds control characters');
  return location;
}
