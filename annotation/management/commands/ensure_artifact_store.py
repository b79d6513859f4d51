from django.core.management.base import BaseCommand

from annotation import artifacts


class Command(BaseCommand):
    help = "Create the artifact bucket if the store is an S3-compatible one and the bucket is missing."

    def handle(self, **options):
        if artifacts.is_local():
            self.stdout.write(f"artifact store: local folder {artifacts.store().location}")
            return
        bucket = artifacts.store().bucket
        client = bucket.meta.client
        existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        if bucket.name not in existing:
            client.create_bucket(Bucket=bucket.name)
            self.stdout.write(f"created bucket {bucket.name}")
        else:
            self.stdout.write(f"artifact store: bucket {bucket.name}")
