/**
 * The bookmark permalink API as the browser reads it (`GET /api/bookmarks/:id`; server side in
 * server/http/bookmarks.ts). Parsed leniently: fields that come with durable bookmarks (tags,
 * the op chain) may be empty on servers that do not record them.
 */
import { z } from 'zod';

export const PermalinkSchema = z.object({
  ok: z.literal(true),
  bookmark: z.object({
    id: z.string(),
    name: z.string(),
    tags: z.array(z.string()).default([]),
    z: z.array(z.number()),
    classLabel: z.number().nullable(),
    psi: z.number(),
    modelId: z.string(),
    weightsHash: z.string().default(''),
    roomId: z.string().nullable().optional(),
    version: z.number().nullable().optional(),
    createdBy: z.string().default(''),
    createdAt: z.string().optional(),
  }),
  provenance: z.object({
    model: z.object({ id: z.string(), name: z.string().optional(), family: z.string(), weightsHash: z.string().default(''), steps: z.number().optional() }).loose(),
    backend: z.string().optional(),
    ops: z.array(z.object({ version: z.number(), kind: z.string(), by: z.string(), at: z.string() }).loose()).default([]),
  }).loose(),
});
export type Permalink = z.infer<typeof PermalinkSchema>;

export const bookmarkUrl = (id: string) => `/api/bookmarks/${encodeURIComponent(id)}`;
export const bookmarkImageUrl = (id: string) => `/api/bookmarks/${encodeURIComponent(id)}/image.png`;
