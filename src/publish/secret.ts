import crypto from 'node:crypto';

/**
 * The data.gouv.fr API keys of the communes, encrypted at rest with AES-256-GCM under
 * PUBLICATION_KEY. Stored blob: version byte (1) | IV (12 bytes) | tag (16 bytes) | ciphertext.
 * The commune code is the additional authenticated data: a blob copied to another commune's
 * row does not decrypt.
 */
const VERSION = 1;

export class PublicationKeyMissingError extends Error {
  constructor() {
    super(
      "la publication sur data.gouv.fr est désactivée : définissez PUBLICATION_KEY (64 caractères hexadécimaux, `openssl rand -hex 32`) pour chiffrer les clés d'API",
    );
  }
}

/** The 32-byte key from the PUBLICATION_KEY setting (hex). */
export function publicationKey(hex: string | undefined): Buffer {
  if (!hex) throw new PublicationKeyMissingError();
  return Buffer.from(hex, 'hex');
}

export function encryptSecret(plain: string, key: Buffer, code: string): Buffer {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(code, 'utf8'));
  const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), ct]);
}

export function decryptSecret(blob: Buffer, key: Buffer, code: string): string {
  if (blob[0] !== VERSION || blob.length < 29) throw new Error(`clé d'API de ${code} illisible (format inconnu)`);
  const decipher = crypto.createDecipheriv('aes-256-gcm', key, blob.subarray(1, 13));
  decipher.setAAD(Buffer.from(code, 'utf8'));
  decipher.setAuthTag(blob.subarray(13, 29));
  try {
    return Buffer.concat([decipher.update(blob.subarray(29)), decipher.final()]).toString('utf8');
  } catch {
    throw new Error(`clé d'API de ${code} illisible : PUBLICATION_KEY a changé depuis son enregistrement ; enregistrez-la de nouveau`);
  }
}
