ALTER TABLE "bookmarks" ADD COLUMN "tags" text[] DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE "bookmarks" ADD COLUMN "psi" real DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "bookmarks" ADD COLUMN "weights_hash" text;--> statement-breakpoint
ALTER TABLE "bookmarks" ADD COLUMN "version" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "bookmarks" ADD COLUMN "request_id" text;--> statement-breakpoint
ALTER TABLE "bookmarks" ADD COLUMN "copied_from" uuid;--> statement-breakpoint
ALTER TABLE "room_ops" ADD COLUMN "member_name" text;--> statement-breakpoint
ALTER TABLE "bookmarks" ADD CONSTRAINT "bookmarks_copied_from_bookmarks_id_fk" FOREIGN KEY ("copied_from") REFERENCES "public"."bookmarks"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "bookmarks_room_request_idx" ON "bookmarks" USING btree ("room_id","request_id");